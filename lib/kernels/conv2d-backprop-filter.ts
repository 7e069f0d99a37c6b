/**
 * Conv2DBackpropFilter for the wasm backend, which lacks it: the gradient of a 2-D convolution
 * with respect to its filter, dW[r, c, i, o] = Σ x[b, r + y·sh − top, c + x·sw − left, i] · dy[b, y, x, o].
 * Without it tfjs-layers' Conv1D and Conv2D cannot train on wasm (tf.grad of conv2d throws
 * "'Conv2DBackpropFilter' not registered for backend 'wasm'").
 */
import * as tf from '@tensorflow/tfjs';
import type { JsKernel, KernelArray } from './registry';

/** Attributes tfjs passes to Conv2DBackpropFilter (see tfjs-core's conv2d_backprop_filter). */
export interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * The filter gradient in plain JavaScript over typed arrays, accumulated in float64 as the cpu
 * backend does. Loops run over output pixels outermost so that the innermost loop walks
 * contiguous output channels (NHWC).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function conv2dBackpropFilterJs(x: KernelArray, dy: KernelArray, attrs: Conv2DBackpropFilterAttrs): KernelArray {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const channelsLast = info.dataFormat === 'channelsLast';
  // strides of x and dy as [batch, row, column, channel] whatever the layout
  const xs = channelsLast
    ? [inHeight * inWidth * inChannels, inWidth * inChannels, inChannels, 1]
    : [inChannels * inHeight * inWidth, inWidth, 1, inHeight * inWidth];
  const ys = channelsLast
    ? [outHeight * outWidth * outChannels, outWidth * outChannels, outChannels, 1]
    : [outChannels * outHeight * outWidth, outWidth, 1, outHeight * outWidth];
  const xv = x.values;
  const dyv = dy.values;
  const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels); // [fh, fw, in, out]
  const g = new Float64Array(outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const yAt = b * ys[0] + yr * ys[1] + yc * ys[2];
        let any = false;
        for (let o = 0; o < outChannels; o++) {
          g[o] = dyv[yAt + o * ys[3]];
          if (g[o] !== 0) any = true;
        }
        if (!any) continue;
        for (let fr = 0; fr < filterHeight; fr++) {
          const xr = yr * strideHeight + fr - top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xc = yc * strideWidth + fc - left;
            if (xc < 0 || xc >= inWidth) continue;
            const xAt = b * xs[0] + xr * xs[1] + xc * xs[2];
            const wAt = (fr * filterWidth + fc) * inChannels * outChannels;
            for (let i = 0; i < inChannels; i++) {
              const v = xv[xAt + i * xs[3]];
              if (v === 0) continue;
              const row = wAt + i * outChannels;
              for (let o = 0; o < outChannels; o++) dw[row + o] += v * g[o];
            }
          }
        }
      }
    }
  }
  return { shape: attrs.filterShape.slice(), dtype: 'float32', values: Float32Array.from(dw) };
}

/** The JS fill of Conv2DBackpropFilter, for wasm (registered by lib/kernels/all.ts). */
export const conv2dBackpropFilterKernel: JsKernel = {
  kernelName: 'Conv2DBackpropFilter',
  backends: ['wasm'],
  inputs: ['x', 'dy'],
  compute: ({ x, dy }, attrs) => conv2dBackpropFilterJs(x, dy, attrs as unknown as Conv2DBackpropFilterAttrs),
};
