// The signed-in account: the access token lives in memory only; the refresh token is an HttpOnly cookie the
// page never sees (the gateway's /api/auth/session). A reload restores the session from that cookie.
import { reactive } from 'vue'

export interface Claims { sub: string; role: string; site?: string; district?: string; exp: number }

export const session = reactive({ token: '', role: '', site: '', account: '', restored: false })

export function adopt(token: string): void {
  const part = token.split('.')[1] ?? ''
  const json = decodeURIComponent(escape(atob(part.replace(/-/g, '+').replace(/_/g, '/'))))
  const claims = JSON.parse(json) as Claims
  session.token = token
  session.role = claims.role
  session.site = claims.site ?? ''
  session.account = claims.sub
}

export function forget(): void {
  session.token = ''
  session.role = ''
  session.site = ''
  session.account = ''
}

export function csrfToken(): string {
  const hit = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('nrmm_csrf='))
  return hit ? decodeURIComponent(hit.slice('nrmm_csrf='.length)) : ''
}

export function homeFor(role: string): string {
  return role === 'site_admin' ? '/gate' : role === 'owner' ? '/owner' : '/'
}
