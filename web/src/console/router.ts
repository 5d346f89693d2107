// The console's pages, each with the roles that may open it (the services decide again on every call: rule F1,
// deny by default). The gateway serves console.html at / and under these sections (gateway/api/web.py).
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { onSessionExpired, refreshSession } from '../api/client'
import { session } from '../api/session'
import { loadMe } from './me'

export const QUEUE = ['reviewer', 'admin', 'auditor']
export const SEARCH = [...QUEUE, 'inspector', 'department_viewer']
export const SITES = [...SEARCH, 'supervision_engineer']
export const ZONE_MANAGERS = ['reviewer', 'admin']
export const INSPECTION = ['inspector', 'department_viewer', 'auditor', 'supervision_engineer']
export const STAFF = [...SITES]

const page = (path: string, component: () => Promise<any>, title: string, roles: string[]): RouteRecordRaw =>
  ({ path, component, meta: { title, roles } })

const routes: RouteRecordRaw[] = [
  { path: '/login', component: () => import('./pages/Login.vue'), meta: { title: '登录' } },
  { path: '/', component: () => import('./pages/Home.vue'), meta: { title: '首页', roles: STAFF } },
  page('/review', () => import('./pages/ReviewQueue.vue'), '审核队列', QUEUE),
  page('/review/:id', () => import('./pages/ApplicationDetail.vue'), '申请详情', QUEUE),
  page('/machines', () => import('./pages/Machines.vue'), '机械查询', SEARCH),
  page('/machines/:code', () => import('./pages/MachineDetail.vue'), '机械详情', SEARCH),
  page('/sites', () => import('./pages/Sites.vue'), '场地与地图', SITES),
  page('/sites/:code', () => import('./pages/SiteDetail.vue'), '场地详情', SITES),
  page('/zones', () => import('./pages/Zones.vue'), '禁用区', SITES),
  page('/staff', () => import('./pages/Staff.vue'), '账号管理', ['admin']),
  page('/inbox', () => import('./pages/Inbox.vue'), '消息', STAFF),
  page('/inspection', () => import('./pages/Inspection.vue'), '监督检查', INSPECTION),
  page('/views', () => import('./pages/NotYet.vue'), '部门视图与排名', STAFF),
  page('/feeds', () => import('./pages/NotYet.vue'), '数据订阅', STAFF),
  page('/audit', () => import('./pages/NotYet.vue'), '审计时间线', STAFF),
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory('/'), routes })

onSessionExpired(() => {
  const here = router.currentRoute.value
  if (here.path !== '/login') router.replace({ path: '/login', query: { next: here.fullPath } })
})

router.beforeEach(async (to) => {
  if (!session.restored) {
    if (await refreshSession()) await loadMe() // a reload keeps the session (the refresh cookie)
    session.restored = true
  }
  const roles = to.meta.roles as string[] | undefined
  if (roles && !session.token) return { path: '/login', query: { next: to.fullPath } }
  if (roles && !roles.includes(session.role)) return to.path === '/' ? { path: '/login' } : '/'
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 重庆市非道路移动机械监管平台`
})
