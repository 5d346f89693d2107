// PDFs drawn with pdf.js from the bytes the API returns: the uploads stay Content-Disposition: attachment and are
// never opened as a document of the console's origin; the plate and the card are shown at their true size.
import * as pdfjs from 'pdfjs-dist'
import PdfWorker from 'pdfjs-dist/build/pdf.worker.min.mjs?worker'

let worker: Worker | null = null
const MM_PER_POINT = 25.4 / 72

export interface PageSize { widthMm: number; heightMm: number }

/** Each page of the PDF drawn on a canvas in ``into`` (``width`` CSS pixels wide at most); the pages' sizes in mm. */
export async function drawPdf(bytes: ArrayBuffer, into: HTMLElement, width: number, label: string): Promise<PageSize[]> {
  worker ??= new PdfWorker()
  pdfjs.GlobalWorkerOptions.workerPort ??= worker
  const document = await pdfjs.getDocument({ data: new Uint8Array(bytes), isEvalSupported: false,
    enableXfa: false }).promise
  into.replaceChildren()
  const sizes: PageSize[] = []
  for (let n = 1; n <= document.numPages; n++) {
    const page = await document.getPage(n)
    const natural = page.getViewport({ scale: 1 })
    sizes.push({ widthMm: Math.round(natural.width * MM_PER_POINT), heightMm: Math.round(natural.height * MM_PER_POINT) })
    const scale = Math.min(width / natural.width, 2)
    const ratio = window.devicePixelRatio || 1
    const viewport = page.getViewport({ scale: scale * ratio })
    const canvas = window.document.createElement('canvas')
    canvas.width = Math.floor(viewport.width)
    canvas.height = Math.floor(viewport.height)
    canvas.style.width = `${Math.floor(viewport.width / ratio)}px`
    canvas.setAttribute('role', 'img')
    canvas.setAttribute('aria-label', `${label} 第 ${n} 页`)
    into.appendChild(canvas)
    await page.render({ canvasContext: canvas.getContext('2d')!, viewport }).promise
  }
  await document.destroy()
  return sizes
}
