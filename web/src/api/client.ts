// Every call to the gateway. Read-your-writes: each command's answer names the positions it reached
// (X-Position: registry:1234, sites:88); every request sends the highest seen per service (X-Min-Position), so
// a page never shows a list without what the user has just done. A read model still behind answers 503
// read_model_behind: asked again once after its Retry-After, then the user is told in words.
import { ApiError, type ErrorBody } from './errors'
import { adopt, csrfToken, forget, session } from './session'

// kept for the tab's life (a reload included): a read right after a reload still sees what was just done
const positions = new Map<string, number>(JSON.parse(sessionStorage.getItem('nrmm_positions') ?? '[]'))
let expired: () => void = () => {}

/** What to do when the session has ended (the router sends the user to the sign-in page). */
export function onSessionExpired(handler: () => void): void {
  expired = handler
}

export function remember(header: string | null): void {
  for (const part of (header ?? '').split(',')) {
    const [service, raw] = part.trim().split(':')
    const position = Number(raw)
    if (service && Number.isFinite(position) && position > (positions.get(service) ?? -1)) {
      positions.set(service, position)
    }
  }
  sessionStorage.setItem('nrmm_positions', JSON.stringify([...positions]))
}

export function minPosition(): string {
  return [...positions].map(([service, position]) => `${service}:${position}`).join(', ')
}

export interface Call {
  json?: unknown; form?: FormData; urlencoded?: URLSearchParams; headers?: Record<string, string>
  anonymous?: boolean; blob?: boolean
}

let refreshing: Promise<boolean> | null = null

/** A new access token from the session cookie; one request at a time (the refresh token rotates). */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const csrf = csrfToken()
    if (!csrf) return false
    try {
      const answer = await fetch('/api/auth/session/refresh', { method: 'POST', headers: { 'X-CSRF-Token': csrf } })
      if (!answer.ok) { forget(); return false }
      adopt((await answer.json()).access_token)
      return true
    } catch { return false }
  })().finally(() => { refreshing = null })
  return refreshing
}

async function send(method: string, path: string, call: Call): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...call.headers }
  let body: BodyInit | undefined
  if (call.json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(call.json) }
  else if (call.form) body = call.form
  else if (call.urlencoded) body = call.urlencoded
  if (session.token && !call.anonymous) headers.Authorization = `Bearer ${session.token}`
  // on every request: a query waits for them, and so does a command that decides from a copy (the gate's scan)
  if (positions.size) headers['X-Min-Position'] = minPosition()
  return fetch(path, { method, headers, body })
}

const pause = (seconds: number) => new Promise((done) => setTimeout(done, Math.min(seconds, 3) * 1000))

export async function api<T = any>(method: string, path: string, call: Call = {}): Promise<T> {
  let answer = await send(method, path, call)
  if (answer.status === 401 && session.token && !call.anonymous) {
    if (await refreshSession()) answer = await send(method, path, call)
    else expired()
  }
  if (answer.status === 503) { // read_model_behind is answered before anything is done: asking again is safe
    const body = await answer.clone().json().catch(() => ({}))
    if (body.code === 'read_model_behind') {
      await pause(Number(answer.headers.get('Retry-After') ?? '1') || 1)
      answer = await send(method, path, call)
    }
  }
  remember(answer.headers.get('X-Position'))
  if (!answer.ok) {
    const body: ErrorBody = await answer.json().catch(() => ({}))
    throw new ApiError(answer.status, body)
  }
  if (call.blob) return (await answer.blob()) as T
  if (answer.status === 204) return undefined as T
  return (await answer.json()) as T
}

export const get = <T = any>(path: string, call?: Call) => api<T>('GET', path, call)
export const post = <T = any>(path: string, json?: unknown, call: Call = {}) => api<T>('POST', path, { json, ...call })

export async function signIn(username: string, password: string): Promise<void> {
  const form = new URLSearchParams({ username, password })
  const issued = await api('POST', '/api/auth/session', { urlencoded: form, anonymous: true })
  adopt(issued.access_token)
}

export async function signOut(): Promise<void> {
  try {
    await fetch('/api/auth/session/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken() } })
  } finally { forget() }
}
