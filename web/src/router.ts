import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { onSessionExpired, refreshSession } from './api/client'
import { homeFor, session } from './api/session'

const routes: RouteRecordRaw[] = [
  { path: '/', component: () => import('./pages/Home.vue'), meta: { title: '首页' } },
  { path: '/login', component: () => import('./pages/Login.vue'), meta: { title: '登录' } },
  { path: '/register', component: () => import('./pages/Register.vue'), meta: { title: '机主注册' } },
  { path: '/site/register', component: () => import('./pages/SiteRegister.vue'), meta: { title: '场地注册' } },
  { path: '/owner', component: () => import('./pages/OwnerHome.vue'), meta: { title: '我的机械', role: 'owner' } },
  { path: '/owner/apply', component: () => import('./pages/Apply.vue'), meta: { title: '申请环保编码', role: 'owner' } },
  { path: '/owner/applications/:id', component: () => import('./pages/ApplicationView.vue'),
    meta: { title: '申请进度', role: 'owner' } },
  { path: '/owner/machines/:code', component: () => import('./pages/MachineView.vue'),
    meta: { title: '机械详情', role: 'owner' } },
  { path: '/gate', component: () => import('./pages/Gate.vue'), meta: { title: '进出场登记', role: 'site_admin' } },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory('/m/'), routes })

onSessionExpired(() => {
  const here = router.currentRoute.value
  if (here.path !== '/login') router.replace({ path: '/login', query: { next: here.fullPath, as: here.meta.role as string } })
})

router.beforeEach(async (to) => {
  if (!session.restored) {
    await refreshSession() // a reload keeps the session: the refresh cookie gives a new access token
    session.restored = true
  }
  const role = to.meta.role as string | undefined
  if (role && session.role !== role) {
    return { path: '/login', query: { next: to.fullPath, as: role } }
  }
  if ((to.path === '/login' || to.path === '/') && session.token && homeFor(session.role) !== '/') {
    return homeFor(session.role)
  }
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · 重庆非道路移动机械监管`
})
