// Photos from the camera or the album are shrunk before upload (a phone's 12-megapixel photo is 4-8 MB; the
// reviewer reads a nameplate at 1600 px). PDFs and small files go as they are.
const MAX_SIDE = 1600
const QUALITY = 0.82

export async function compress(file: File): Promise<File> {
  if (!file.type.startsWith('image/') || file.size < 200 * 1024) return file
  try {
    const bitmap = await createImageBitmap(file)
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height))
    const canvas = document.createElement('canvas')
    canvas.width = Math.round(bitmap.width * scale)
    canvas.height = Math.round(bitmap.height * scale)
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
    bitmap.close()
    const blob = await new Promise<Blob | null>((done) => canvas.toBlob(done, 'image/jpeg', QUALITY))
    if (!blob || blob.size >= file.size) return file
    return new File([blob], file.name.replace(/\.\w+$/, '') + '.jpg', { type: 'image/jpeg' })
  } catch {
    return file // a format the browser cannot draw: the server judges it
  }
}
