/**
 * Temporal convolutional networks (Bai, Kolter & Koltun 2018; github.com/locuslab/TCN): residual
 * blocks of two dilated causal 1-D convolutions, each weight-normalised and followed by ReLU and
 * dropout, stacked with dilations 1, 2, 4, … so that the receptive field doubles with every level.
 *
 * tfjs has none of the parts: tfjs-layers' Conv1D accepts padding 'causal' but throws
 * NotImplemented, there is no weight normalisation, and tfjs cannot differentiate a dilated
 * conv2d (its gradient asserts dilation 1). Here the causal convolution is an op of its own whose
 * output, input gradient and filter gradient are all *forward* conv2d calls, which every backend
 * has and which wasm runs through XNNPACK.
 */
import * as tf from '@tensorflow/tfjs';
import { optionalSeed, positiveInteger } from '../checks';
import { CounterStream } from '../data/random-stream';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;

// ---- checks --------------------------------------------------------------------------------------

function dropoutRate(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value >= 1) {
    throw new Error(`dropout must be a number in [0, 1) (got ${String(value)})`);
  }
  return value;
}

function rank3(what: string, shape: readonly (number | null)[]): void {
  if (shape.length !== 3) {
    throw new Error(
      `${what} expects input of rank 3, [batch, steps, channels] (got rank ${shape.length}, shape [${shape.join(', ')}])`,
    );
  }
}

/**
 * Steps a TCN's last output sees: 1 + 2(k − 1)(2^levels − 1), two convolutions of k taps per
 * level at dilation 2^level. The walkthrough's 8 levels of kernel 7 see 3,061 ≥ 784 steps.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function receptiveField(kernelSize: number, levels: number): number {
  positiveInteger('kernelSize', kernelSize);
  positiveInteger('levels', levels);
  return 1 + 2 * (kernelSize - 1) * (2 ** levels - 1);
}

// ---- ops -----------------------------------------------------------------------------------------

/**
 * Weight normalisation (Salimans & Kingma 2016; PyTorch's `weight_norm(conv)`, dim 0):
 * w = g · v / ‖v‖, the norm taken over taps and input channels for each output channel.
 * v [k, in, out], g [out] → w [k, in, out].
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function weightNorm(v: tf.Tensor3D, g: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => tf.mul(v, tf.div(g, tf.sqrt(tf.sum(tf.square(v), [0, 1])))));
}

/**
 * Where the ops below draw dropout masks when no layer passes its stream (the functions called on
 * their own): a stream with a random key, as tf.dropout without a seed.
 */
const unseededStream = new CounterStream();

function dropout<T extends tf.Tensor>(x: T, rate: number, stream: CounterStream): T {
  if (rate === 0) return x;
  return tf.tidy(() => tf.mul(x, stream.dropoutMask(x.shape, rate)) as T);
}

interface ConvSpec {
  dilation: number;
  relu: boolean;
  /** Applied after the ReLU (needs relu: the mask is recovered from the output's zeros). */
  dropout: number;
  /** Where the dropout masks come from. */
  stream?: CounterStream;
}

/** Filter gradient dW[j] = Σ_{b,t} x[b, t + j·d − p]ᵀ dz[b, t] as one forward conv2d: batch becomes the channel axis, time the filter. */
function filterGradient(x: tf.Tensor3D, dz: tf.Tensor3D, k: number, d: number): tf.Tensor3D {
  const [batch, steps, cin] = x.shape;
  const cout = dz.shape[2];
  if (cin === 1) {
    // one input channel (pixels): the conv2d above would have k output rows, too few for XNNPACK;
    // k shifted copies of x times dz is one [k, n]·[n, out] matMul, 4× faster here
    const xp = tf.pad(x.reshape([batch, steps]), [
      [0, 0],
      [(k - 1) * d, 0],
    ]);
    const shifted = tf.stack(
      Array.from({ length: k }, (_, j) => tf.slice(xp, [0, j * d], [batch, steps])),
      0,
    ); // [k, batch, steps]
    return tf
      .matMul(shifted.reshape([k, batch * steps]), dz.reshape([batch * steps, cout]))
      .reshape<tf.Tensor3D>([k, 1, cout]);
  }
  const xT = tf.transpose(x, [2, 1, 0]).reshape<tf.Tensor4D>([cin, 1, steps, batch]); // [in, 1, steps, batch]
  const dzF = tf.transpose(dz, [1, 0, 2]).reshape<tf.Tensor4D>([1, steps, batch, cout]); // [1, steps, batch, out]
  const dw = tf.conv2d(
    xT,
    dzF,
    [1, d],
    [
      [0, 0],
      [0, 0],
      [(k - 1) * d, 0],
      [0, 0],
    ],
  ); // [in, 1, k, out]
  return tf.transpose(dw.reshape<tf.Tensor3D>([cin, k, cout]), [1, 0, 2]); // [k, in, out]
}

/**
 * The causal convolution y[t] = Σ_j kernel[j]ᵀ x[t − (k − 1 − j)·d] (+ bias, ReLU, dropout) with
 * its gradient: the input gradient is the anti-causal convolution of dz with the taps reversed and
 * transposed, the filter gradient a conv2d with batch and channels swapped (filterGradient).
 */
function causalConvOp(spec: ConvSpec, withBias: boolean) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const x = args[0] as tf.Tensor3D;
    const kernel = args[1] as tf.Tensor3D;
    const bias = withBias ? (args[2] as tf.Tensor1D) : undefined;
    const [batch, steps, cin] = x.shape;
    const [k, , cout] = kernel.shape;
    const d = spec.dilation;
    const p = (k - 1) * d;
    let y: tf.Tensor3D = tf.fused
      .conv2d({
        x: x.reshape<tf.Tensor4D>([batch, 1, steps, cin]),
        filter: kernel.reshape<tf.Tensor4D>([1, k, cin, cout]),
        strides: 1,
        pad: [
          [0, 0],
          [0, 0],
          [p, 0],
          [0, 0],
        ],
        dilations: [1, d],
        bias,
        activation: spec.relu ? 'relu' : 'linear',
      })
      .reshape<tf.Tensor3D>([batch, steps, cout]); // [batch, steps, out]
    if (spec.dropout > 0) y = tf.mul(y, (spec.stream ?? unseededStream).dropoutMask(y.shape, spec.dropout));
    save([x, kernel, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ks, ys] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        // kept units had y > 0 and gain 1/(1 − rate): fold that scale into the small tensors
        const scale = spec.dropout > 0 ? 1 / (1 - spec.dropout) : 1;
        const dz = (spec.relu ? tf.mul(dy, tf.step(ys)) : dy) as tf.Tensor3D; // [batch, steps, out]
        let flipped = tf.transpose(tf.reverse(ks, 0), [0, 2, 1]); // [k, out, in]
        if (scale !== 1) flipped = tf.mul(flipped, scale);
        const dx = tf
          .conv2d(
            dz.reshape<tf.Tensor4D>([batch, 1, steps, cout]),
            flipped.reshape<tf.Tensor4D>([1, k, cout, cin]),
            1,
            [
              [0, 0],
              [0, 0],
              [0, p],
              [0, 0],
            ],
            'NHWC',
            [1, d],
          )
          .reshape([batch, steps, cin]);
        let dw: tf.Tensor = filterGradient(xs, dz, k, d);
        if (scale !== 1) dw = tf.mul(dw, scale);
        if (!withBias) return [dx, dw];
        // a [1, n]·[n, out] matMul sums over batch and steps far faster than wasm's Sum, which transposes first
        let db: tf.Tensor = tf.matMul(tf.ones([1, batch * steps]), dz.reshape([batch * steps, cout])).reshape([cout]);
        if (scale !== 1) db = tf.mul(db, scale);
        return [dx, dw, db];
      },
    };
  });
}

function checkConvArgs(x: tf.Tensor, kernel: tf.Tensor, dilation: number): void {
  rank3('causalConv1d', x.shape);
  if (kernel.rank !== 3)
    throw new Error(`kernel must have rank 3, [taps, in, out] (got shape [${kernel.shape.join(', ')}])`);
  if (kernel.shape[1] !== x.shape[2]) {
    throw new Error(
      `kernel takes ${kernel.shape[1]} input channels but the input has ${x.shape[2]} (kernel [${kernel.shape.join(', ')}], input [${x.shape.join(', ')}])`,
    );
  }
  positiveInteger('dilation', dilation);
}

/**
 * Causal dilated 1-D convolution: out[t] sees in[t], in[t − d], …, in[t − (k − 1)d] only (zeros
 * before the start), as PyTorch's Conv1d with padding (k − 1)·d followed by the TCN's Chomp1d.
 * Differentiable on every backend, dilation included. x [batch, steps, in], kernel [k, in, out]
 * (tfjs-layers' Conv1D layout) → [batch, steps, out].
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function causalConv1d(x: tf.Tensor3D, kernel: tf.Tensor3D, dilation = 1): tf.Tensor3D {
  checkConvArgs(x, kernel, dilation);
  return causalConvOp({ dilation, relu: false, dropout: 0 }, false)(x, kernel) as tf.Tensor3D;
}

/** Options of causalConvRelu. */
export interface CausalConvReluOptions {
  /** Spacing of the taps. Default 1. */
  dilation?: number;
  /** Dropout rate after the ReLU, in [0, 1); applied only when `training`. Default 0. */
  dropout?: number;
  /** Default false. */
  training?: boolean;
  /** Where the dropout masks come from (a layer's seeded stream). Default an unseeded one. */
  stream?: CounterStream;
}

/**
 * One half of a temporal block in one op: dropout(relu(causalConv1d(x, kernel, d) + bias)).
 * x [batch, steps, in], kernel [k, in, out], bias [out] → [batch, steps, out].
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function causalConvRelu(
  x: tf.Tensor3D,
  kernel: tf.Tensor3D,
  bias: tf.Tensor1D,
  options: CausalConvReluOptions = {},
): tf.Tensor3D {
  const dilation = options.dilation ?? 1;
  checkConvArgs(x, kernel, dilation);
  const rate = dropoutRate(options.dropout ?? 0);
  return causalConvOp({ dilation, relu: true, dropout: options.training ? rate : 0, stream: options.stream }, true)(
    x,
    kernel,
    bias,
  ) as tf.Tensor3D;
}

// ---- temporal blocks -----------------------------------------------------------------------------

/** A block's weights as tensors, the convolution kernels already weight-normalised. */
export interface TemporalBlockTensors {
  conv1: tf.Tensor3D; // [k, in, out]
  bias1: tf.Tensor1D;
  conv2: tf.Tensor3D; // [k, out, out]
  bias2: tf.Tensor1D;
  /** The 1×1 residual convolution, present when in ≠ out. */
  downsample?: { kernel: tf.Tensor3D; bias: tf.Tensor1D }; // [1, in, out], [out]
}

function conv1x1(x: tf.Tensor3D, kernel: tf.Tensor3D, bias: tf.Tensor1D): tf.Tensor3D {
  const [batch, steps, cin] = x.shape;
  const cout = kernel.shape[2];
  return tf
    .add(tf.matMul(x.reshape([batch * steps, cin]), kernel.reshape([cin, cout])), bias)
    .reshape<tf.Tensor3D>([batch, steps, cout]);
}

/**
 * The temporal block on a whole sequence: relu(net(x) + residual), net = two causalConvRelu at
 * dilation d, residual = x or its 1×1 convolution. [batch, steps, in] → [batch, steps, out].
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function temporalBlock(
  x: tf.Tensor3D,
  w: TemporalBlockTensors,
  options: { dilation: number; dropout: number; training: boolean; stream?: CounterStream },
): tf.Tensor3D {
  return tf.tidy(() => {
    const a = causalConvRelu(x, w.conv1, w.bias1, options); // [batch, steps, out]
    const o = causalConvRelu(a, w.conv2, w.bias2, options);
    const residual = w.downsample ? conv1x1(x, w.downsample.kernel, w.downsample.bias) : x;
    return tf.relu(tf.add<tf.Tensor3D>(o, residual));
  });
}

/**
 * The stack's output at the last step only, computing only the steps that reach it. Level l's
 * convolutions have dilation 2^l, so the last output depends on level l's output only at steps
 * T − 1 − m·2^(l+1): at level l we hold the input at steps T − 1 − m·2^l, where the dilated
 * convolution is an ordinary one, and the second convolution is needed at every other of them
 * (a stride-2 convolution, run as a stride-1 one over pairs of steps). Levels do 784, 392, 196, …
 * steps instead of 784 each: the same output and gradients, 1/7.5 of the work at 8 levels.
 * [batch, steps, in] → [batch, out].
 */
export function temporalConvNetLastStep(
  x: tf.Tensor3D,
  blocks: TemporalBlockTensors[],
  options: { dropout: number; training: boolean; stream?: CounterStream },
): tf.Tensor2D {
  return tf.tidy(() => {
    const rate = options.training ? options.dropout : 0;
    const stream = options.stream ?? unseededStream;
    let h = x; // [batch, n, in]: steps T − 1 − m·2^l, m = n − 1 … 0, zeros before the start
    blocks.forEach((w, level) => {
      const [batch, n, cin] = h.shape;
      const [k, , cout] = w.conv2.shape;
      const a = causalConvRelu(h, w.conv1, w.bias1, { dropout: rate, training: rate > 0, stream }); // [batch, n, out]
      let o: tf.Tensor3D;
      let residual: tf.Tensor3D;
      if (level < blocks.length - 1) {
        // pairs (even, odd) of steps ending at the last one; a leading zero step when n is odd
        const odd = n % 2;
        const pairs = (n + odd) / 2;
        const paired = (t: tf.Tensor3D, c: number) =>
          (odd
            ? tf.pad(t, [
                [0, 0],
                [1, 0],
                [0, 0],
              ])
            : t
          ).reshape<tf.Tensor3D>([batch, pairs, 2 * c]);
        // k taps ending on the odd step of a pair span ⌈k/2⌉ pairs; a zero tap in front when k is odd
        const front = k % 2;
        const pairTaps = (k + front) / 2;
        const kernel = tf
          .pad(w.conv2, [
            [front, 0],
            [0, 0],
            [0, 0],
          ])
          .reshape<tf.Tensor3D>([pairTaps, 2 * cout, cout]);
        o = causalConvRelu(paired(a, cout), kernel, w.bias2, { dropout: rate, training: rate > 0, stream }); // [batch, pairs, out]
        residual = paired(h, cin).slice([0, 0, cin], [batch, pairs, cin]);
      } else {
        const window =
          n >= k
            ? a.slice([0, n - k, 0], [batch, k, cout])
            : tf.pad(a, [
                [0, 0],
                [k - n, 0],
                [0, 0],
              ]); // [batch, k, out]
        const z = tf.relu(
          tf.add(tf.matMul(window.reshape([batch, k * cout]), w.conv2.reshape([k * cout, cout])), w.bias2),
        );
        o = dropout(z, rate, stream).reshape<tf.Tensor3D>([batch, 1, cout]);
        residual = h.slice([0, n - 1, 0], [batch, 1, cin]);
      }
      if (w.downsample) residual = conv1x1(residual, w.downsample.kernel, w.downsample.bias);
      h = tf.relu(tf.add<tf.Tensor3D>(o, residual));
    });
    const [batch, , c] = h.shape;
    return h.reshape([batch, c]);
  });
}

// ---- layers --------------------------------------------------------------------------------------

interface BlockVariables {
  v1: tf.LayerVariable;
  g1: tf.LayerVariable;
  b1: tf.LayerVariable;
  v2: tf.LayerVariable;
  g2: tf.LayerVariable;
  b2: tf.LayerVariable;
  downsample?: { kernel: tf.LayerVariable; bias: tf.LayerVariable };
}

function uniform(limit: number, seed: number | undefined): ReturnType<typeof tf.initializers.randomUniform> {
  return tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed });
}

/** What TemporalBlock and TemporalConvNet share: creating and reading a block's weights. */
abstract class TemporalLayer extends tf.layers.Layer {
  protected readonly seed?: number;
  private seedCount = 0;
  /**
   * The dropout masks' stream, keyed by the seed (random without one); its position is part of a
   * training's checkpoint (lib/data/random-stream.ts).
   */
  readonly randomStream: CounterStream;

  constructor(args: LayerArgs & { seed?: number }) {
    super(args);
    this.seed = optionalSeed(args.seed);
    this.randomStream = new CounterStream(this.seed);
  }

  /** Runs one forward pass; a training pass with dropout draws its masks as the stream's next pass. */
  protected pass<T>(training: boolean, dropout: number, f: () => T): T {
    if (!training || dropout === 0) return f();
    this.randomStream.beginPass();
    try {
      return f();
    } finally {
      this.randomStream.endPass();
    }
  }

  private nextSeed(): number | undefined {
    return this.seed === undefined ? undefined : this.seed + this.seedCount++;
  }

  /**
   * A block's weights, initialised as the original effectively does: weight_norm's hook
   * recomputes w from g and v, undoing the reference code's normal_(0, 0.01) on `conv.weight`, so
   * v and the biases keep PyTorch's Conv1d defaults (Kaiming-uniform with a = √5, i.e. U(±1/√fan_in);
   * bias U(±1/√fan_in)) and g = ‖v‖; only the 1×1 downsample keeps N(0, 0.01).
   */
  protected addBlockWeights(prefix: string, cin: number, cout: number, k: number): BlockVariables {
    const conv = (name: string, fanIn: number, inputs: number) => {
      const v = this.addWeight(
        `${prefix}${name}.weight_v`,
        [k, inputs, cout],
        'float32',
        tf.initializers.varianceScaling({
          scale: 1 / 3,
          mode: 'fanIn',
          distribution: 'uniform',
          seed: this.nextSeed(),
        }),
      );
      const g = this.addWeight(`${prefix}${name}.weight_g`, [cout], 'float32', tf.initializers.ones());
      const b = this.addWeight(
        `${prefix}${name}.bias`,
        [cout],
        'float32',
        uniform(1 / Math.sqrt(fanIn), this.nextSeed()),
      );
      const norm = tf.tidy(() => tf.sqrt(tf.sum(tf.square(v.read()), [0, 1])));
      g.write(norm); // write() copies the value into the variable: the norm itself is ours to dispose
      norm.dispose();
      return [v, g, b];
    };
    const [v1, g1, b1] = conv('conv1', cin * k, cin);
    const [v2, g2, b2] = conv('conv2', cout * k, cout);
    const block: BlockVariables = { v1, g1, b1, v2, g2, b2 };
    if (cin !== cout) {
      block.downsample = {
        kernel: this.addWeight(
          `${prefix}downsample.weight`,
          [1, cin, cout],
          'float32',
          tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: this.nextSeed() }),
        ),
        bias: this.addWeight(
          `${prefix}downsample.bias`,
          [cout],
          'float32',
          uniform(1 / Math.sqrt(cin), this.nextSeed()),
        ),
      };
    }
    return block;
  }

  /** The block's weights as tensors, kernels weight-normalised (call inside a tidy). */
  protected blockTensors(b: BlockVariables): TemporalBlockTensors {
    return {
      conv1: weightNorm(b.v1.read() as tf.Tensor3D, b.g1.read() as tf.Tensor1D),
      bias1: b.b1.read() as tf.Tensor1D,
      conv2: weightNorm(b.v2.read() as tf.Tensor3D, b.g2.read() as tf.Tensor1D),
      bias2: b.b2.read() as tf.Tensor1D,
      downsample: b.downsample && {
        kernel: b.downsample.kernel.read() as tf.Tensor3D,
        bias: b.downsample.bias.read() as tf.Tensor1D,
      },
    };
  }

  protected input3d(inputs: tf.Tensor | tf.Tensor[], channels: number): tf.Tensor3D {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    rank3(this.getClassName(), x.shape);
    if (x.shape[2] !== channels)
      throw new Error(
        `${this.name} was built for ${channels} input channels (got input of shape [${x.shape.join(', ')}])`,
      );
    return x as tf.Tensor3D;
  }

  protected inputShape3d(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    rank3(this.getClassName(), shape);
    if (shape[2] == null)
      throw new Error(
        `${this.getClassName()} needs a known number of input channels (got shape [${shape.join(', ')}])`,
      );
    return shape;
  }
}

/** Options of a TemporalBlock layer. */
export interface TemporalBlockArgs extends LayerArgs {
  /** Output channels. Required. */
  filters: number;
  /** Taps of both convolutions. Default 7 (the walkthrough's KSIZE). */
  kernelSize?: number;
  /** Spacing of the taps. Default 1. */
  dilation?: number;
  /** Dropout rate after each convolution's ReLU, in [0, 1). Default 0.05 (DROPOUT). */
  dropout?: number;
  /** Seed of the initialisers; default none (random). */
  seed?: number;
}

/**
 * One temporal block (locuslab/TCN's TemporalBlock) as a layer: two weight-normalised causal
 * convolutions of dilation d, each followed by ReLU and dropout, plus the residual (a 1×1
 * convolution when the channel counts differ), then ReLU. [batch, steps, in] → [batch, steps, filters].
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class TemporalBlock extends TemporalLayer {
  static className = 'TemporalBlock';
  readonly filters: number;
  readonly kernelSize: number;
  readonly dilation: number;
  readonly dropout: number;
  private block?: BlockVariables;
  private inputChannels = 0;

  constructor(args: TemporalBlockArgs) {
    super(args);
    this.filters = positiveInteger('filters', args.filters);
    this.kernelSize = positiveInteger('kernelSize', args.kernelSize ?? 7);
    this.dilation = positiveInteger('dilation', args.dilation ?? 1);
    this.dropout = dropoutRate(args.dropout ?? 0.05);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    this.inputChannels = this.inputShape3d(inputShape)[2] as number;
    this.block = this.addBlockWeights('', this.inputChannels, this.filters, this.kernelSize);
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, steps] = this.inputShape3d(inputShape);
    return [batch, steps, this.filters];
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = this.input3d(inputs, this.inputChannels);
      const training = kwargs.training === true;
      return this.pass(training, this.dropout, () =>
        temporalBlock(x, this.blockTensors(this.block!), {
          dilation: this.dilation,
          dropout: this.dropout,
          training,
          stream: this.randomStream,
        }),
      );
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      dilation: this.dilation,
      dropout: this.dropout,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

/** Options of a TemporalConvNet layer; defaults are the walkthrough's settings. */
export interface TemporalConvNetArgs extends LayerArgs {
  /** Output channels of each level's block; its length is the number of levels. Default eight levels of 30 (`[NHID] * LEVELS`). */
  numChannels?: number[];
  /** Taps of every convolution. Default 7 (KSIZE). */
  kernelSize?: number;
  /** Dropout rate after each convolution's ReLU, in [0, 1). Default 0.05 (DROPOUT). */
  dropout?: number;
  /**
   * true: every step, [batch, steps, channels]; false (default): the last step only,
   * [batch, channels], computed from the steps that reach it (see temporalConvNetLastStep).
   */
  returnSequences?: boolean;
  /** Seed of the initialisers; default none (random). */
  seed?: number;
}

/**
 * locuslab/TCN's TemporalConvNet as a layer: one TemporalBlock per level, dilation 2^level.
 * [batch, steps, in] → [batch, channels] (or [batch, steps, channels] with returnSequences).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class TemporalConvNet extends TemporalLayer {
  static className = 'TemporalConvNet';
  readonly numChannels: number[];
  readonly kernelSize: number;
  readonly dropout: number;
  readonly returnSequences: boolean;
  private blocks: BlockVariables[] = [];
  private inputChannels = 0;

  constructor(args: TemporalConvNetArgs = {}) {
    super(args);
    const channels = args.numChannels ?? new Array<number>(8).fill(30);
    if (!Array.isArray(channels) || channels.length < 1)
      throw new Error(`numChannels must list at least one level (got ${JSON.stringify(channels)})`);
    channels.forEach((c, i) => positiveInteger(`numChannels[${i}]`, c));
    this.numChannels = channels.slice();
    this.kernelSize = positiveInteger('kernelSize', args.kernelSize ?? 7);
    this.dropout = dropoutRate(args.dropout ?? 0.05);
    this.returnSequences = args.returnSequences ?? false;
  }

  /** Levels in the stack. */
  get levels(): number {
    return this.numChannels.length;
  }

  /** Steps the last output sees (receptiveField(kernelSize, levels)). */
  get receptiveField(): number {
    return receptiveField(this.kernelSize, this.levels);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = this.inputShape3d(inputShape);
    const steps = shape[1];
    if (steps != null && this.receptiveField < steps) {
      console.warn(
        `${this.name}: the receptive field (${this.receptiveField} steps) is shorter than the sequence (${steps} steps); the last output cannot see the first ${steps - this.receptiveField}`,
      );
    }
    this.inputChannels = shape[2] as number;
    let cin = this.inputChannels;
    this.blocks = this.numChannels.map((cout, i) => {
      const b = this.addBlockWeights(`network.${i}.`, cin, cout, this.kernelSize);
      cin = cout;
      return b;
    });
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, steps] = this.inputShape3d(inputShape);
    const channels = this.numChannels[this.levels - 1];
    return this.returnSequences ? [batch, steps, channels] : [batch, channels];
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = this.input3d(inputs, this.inputChannels);
      const training = kwargs.training === true;
      const blocks = this.blocks.map((b) => this.blockTensors(b));
      const stream = this.randomStream;
      return this.pass(training, this.dropout, () =>
        this.returnSequences
          ? blocks.reduce(
              (h, w, level) => temporalBlock(h, w, { dilation: 2 ** level, dropout: this.dropout, training, stream }),
              x,
            )
          : temporalConvNetLastStep(x, blocks, { dropout: this.dropout, training, stream }),
      );
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numChannels: this.numChannels.slice(),
      kernelSize: this.kernelSize,
      dropout: this.dropout,
      returnSequences: this.returnSequences,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

// ---- the walkthrough's model ---------------------------------------------------------------------

/** Options of buildTcnModel; defaults are the walkthrough's settings. */
export interface TcnModelOptions {
  /** Steps per sequence. Default 784 (one MNIST pixel per step). */
  steps?: number;
  /** Channels per input step. Default 1. */
  inputChannels?: number;
  /** Channels of each level; default 8 levels of 30 (LEVELS = 8, NHID = 30). */
  numChannels?: number[];
  /** Default 7 (KSIZE). */
  kernelSize?: number;
  /** Default 0.05 (DROPOUT). */
  dropout?: number;
  /** Default 10. */
  classes?: number;
  /** Seed of the initialisers; default none (random). The walkthrough uses SEED = 1111. */
  seed?: number;
}

/**
 * The walkthrough's model (locuslab/TCN's mnist_pixel TCN): TemporalConvNet → linear layer on the
 * last step → log-softmax, trained with negative log-likelihood (`losses.nll`). With the
 * defaults it has 96,040 trainable parameters ("Model Size: 96.04 K").
 * [batch, 784, 1] → [batch, 10] log-probabilities.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function buildTcnModel(options: TcnModelOptions = {}): tf.LayersModel {
  const steps = positiveInteger('steps', options.steps ?? 784);
  const inputChannels = positiveInteger('inputChannels', options.inputChannels ?? 1);
  const classes = positiveInteger('classes', options.classes ?? 10);
  const seed = optionalSeed(options.seed);
  const tcn = new TemporalConvNet({
    name: 'tcn',
    inputShape: [steps, inputChannels],
    numChannels: options.numChannels,
    kernelSize: options.kernelSize,
    dropout: options.dropout,
    seed,
  });
  const hidden = tcn.numChannels[tcn.levels - 1];
  // PyTorch's Linear default, U(±1/√fan_in) for weight and bias
  const linear = tf.layers.dense({
    name: 'linear',
    units: classes,
    kernelInitializer: tf.initializers.varianceScaling({
      scale: 1 / 3,
      mode: 'fanIn',
      distribution: 'uniform',
      seed: seed === undefined ? undefined : seed + 100000,
    }),
    biasInitializer: uniform(1 / Math.sqrt(hidden), seed === undefined ? undefined : seed + 100001),
  });
  // Porting note: tfjs-layers registers 'logSoftmax' as an activation but leaves it out of its type.
  const logSoftmax = tf.layers.activation({ name: 'log_softmax', activation: 'logSoftmax' as 'softmax' });
  return tf.sequential({ name: 'tcn_model', layers: [tcn, linear, logSoftmax] });
}
