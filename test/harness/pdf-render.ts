import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import type { Canvas } from '@napi-rs/canvas';
import type * as PdfJs from 'pdfjs-dist';

/** What rendering a PDF page found. */
export interface RenderedPage {
  pages: number;
  width: number;
  height: number;
  /** Share of pixels that are not (near) white: 0 for a blank page. */
  inkRatio: number;
  png: Buffer;
}

/** A pdf.js canvas factory on @napi-rs/canvas (prebuilt Skia; no system libraries, no node-canvas build). */
class NapiCanvasFactory {
  create(width: number, height: number) {
    const canvas = createCanvas(width, height);
    return { canvas, context: canvas.getContext('2d') };
  }
  reset(cc: { canvas: Canvas }, width: number, height: number) {
    cc.canvas.width = width;
    cc.canvas.height = height;
  }
  destroy(cc: { canvas: Canvas | null; context: unknown }) {
    cc.canvas = null;
    cc.context = null;
  }
}

/** Renders the first page of a PDF to an image with pdf.js (as a viewer would) and measures its ink. */
export async function renderFirstPage(pdf: Buffer, scale = 1): Promise<RenderedPage> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pdfjs = require('pdfjs-dist/legacy/build/pdf.js') as typeof PdfJs;
  const factory = new NapiCanvasFactory();
  const doc = await pdfjs.getDocument({
    data: new Uint8Array(pdf),
    standardFontDataUrl:
      path.join(path.dirname(require.resolve('pdfjs-dist/package.json')), 'standard_fonts') + path.sep,
    canvasFactory: factory,
    disableFontFace: true,
    isEvalSupported: false,
  }).promise;
  const page = await doc.getPage(1);
  const viewport = page.getViewport({ scale });
  const { canvas, context } = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  await page.render({ canvasContext: context as never, viewport }).promise;
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i]! < 200 || data[i + 1]! < 200 || data[i + 2]! < 200) ink++;
  const out = {
    pages: doc.numPages,
    width: canvas.width,
    height: canvas.height,
    inkRatio: ink / (canvas.width * canvas.height),
    png: canvas.toBuffer('image/png'),
  };
  await doc.destroy();
  return out;
}
