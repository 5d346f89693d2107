// Only the Vant components the pages use, each with its own style (the whole library is three times larger)
import type { App } from 'vue'
import {
  Button, Cell, CellGroup, Empty, Field, Form, Loading, NavBar, Picker, Popup, Step, Steps, Tab, Tabs, Uploader,
} from 'vant'
import 'vant/es/button/style/index'
import 'vant/es/cell/style/index'
import 'vant/es/cell-group/style/index'
import 'vant/es/empty/style/index'
import 'vant/es/field/style/index'
import 'vant/es/form/style/index'
import 'vant/es/loading/style/index'
import 'vant/es/nav-bar/style/index'
import 'vant/es/picker/style/index'
import 'vant/es/popup/style/index'
import 'vant/es/step/style/index'
import 'vant/es/steps/style/index'
import 'vant/es/tab/style/index'
import 'vant/es/tabs/style/index'
import 'vant/es/uploader/style/index'

const components = [Button, Cell, CellGroup, Empty, Field, Form, Loading, NavBar, Picker, Popup, Step, Steps, Tab, Tabs,
  Uploader]

export function useVant(app: App): void {
  for (const component of components) app.use(component)
}
