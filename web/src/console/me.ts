// The signed-in staff account as the gateway knows it (name, department, district): shown in the header and used
// as the default district of filters and new zones.
import { reactive } from 'vue'
import { get } from '../api/client'

export const me = reactive({ username: '', name: '', department: '' as string | null, district: '' as string | null })

export async function loadMe(): Promise<void> {
  try {
    const account = await get('/api/auth/me')
    Object.assign(me, { username: account.username, name: account.name ?? '', department: account.department,
      district: account.district })
  } catch { /* the header shows the role only */ }
}
