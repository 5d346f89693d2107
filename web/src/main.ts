import { createApp } from 'vue'
import { useVant } from './vant'
import './style.css'
import App from './App.vue'
import { router } from './router'

const app = createApp(App)
useVant(app)
app.use(router).mount('#app')
