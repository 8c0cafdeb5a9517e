"""The blog's sliding-context encoder-decoder layers, rebuilt in tf_keras with its defects fixed."""
import tensorflow as tf
import tf_keras

from modules.features import SEP, SPC, TOKEN_OF

register = tf_keras.utils.register_keras_serializable(package="arith_tfx")
_EPSILON = 1e-5


def without_autograph(method):
    """`method` traced as written. Our layers and steps branch only on Python values, and
    AutoGraph, once inside them, also converts tf_keras's own code (which TF 2.16's AutoGraph
    does not exempt, as it does `keras`): that was most of a Trainer run's tracing. Keras still
    sees the method's arguments."""
    return tf.__internal__.decorator.make_decorator(
        method, tf.autograph.experimental.do_not_convert(method))


def window_mask(lens, width):
    """[B, width] bool, True on the valid (last lens[b]) positions of right-aligned rows."""
    lens = tf.cast(lens, tf.int32)
    return tf.range(width)[None, :] >= width - lens[:, None]


_DIGITS = (TOKEN_OF["0"], TOKEN_OF["9"])
_NUMBER_ENDS = (TOKEN_OF[","], SEP)


def digit_places(tokens):
    """int [B, W] encoder tokens -> int32 [B, W]: 1 + the place value of each digit (1 for
    ones, 2 for tens, ...), counted from the end of its number (the next `,` or SEP to its
    right), and 0 for every other token. The digits of one place then share a position id in
    both operands and, through Embed, with the result position of that place (Abacus
    embeddings, arXiv 2405.17399)."""
    tokens = tf.cast(tokens, tf.int32)
    width = tf.shape(tokens)[1]
    ends = tf.logical_or(tf.equal(tokens, _NUMBER_ENDS[0]), tf.equal(tokens, _NUMBER_ENDS[1]))
    # distance[b, i] = j - i for the nearest end j > i (or a large number if none).
    index = tf.range(width)
    gap = index[None, :] - index[:, None]  # [i, j]: j - i
    candidates = tf.where(ends[:, None, :] & (gap > 0)[None], gap[None], width + 1)
    distance = tf.reduce_min(candidates, axis=2)
    is_digit = (tokens >= _DIGITS[0]) & (tokens <= _DIGITS[1]) & (distance <= width)
    return tf.where(is_digit, distance, 0)


def _gather_rows(values, idx):
    return idx.with_flat_values(tf.gather(values, idx.flat_values))


def _tail(rows, width):
    """The last `width` tokens of each ragged row as [B, width], right-aligned, SPC on the left."""
    ends = rows.row_limits()
    keep = tf.minimum(rows.row_lengths(), width)
    # Gathering each row reversed lets to_tensor pad on the right; flipping back right-aligns it.
    flipped = _gather_rows(rows.flat_values, tf.ragged.range(ends - 1, ends - 1 - keep, -1))
    dense = flipped.to_tensor(default_value=SPC, shape=[None, width])
    return tf.reverse(dense, axis=[1]), keep


def _right_rows(dense, lens):
    """Ragged rows of the last `lens[b]` tokens of each right-aligned dense row."""
    shape = tf.shape(dense, out_type=tf.int64)
    ends = tf.range(1, shape[0] + 1) * shape[1]
    return _gather_rows(tf.reshape(dense, [-1]), tf.ragged.range(ends - lens, ends))


@register
class Frames(tf_keras.layers.Layer):
    """Prefixes each encoder input with a sliding context of earlier inputs and their results.

    The context is per batch row and holds token ids, never embeddings, so it never goes stale.
    It is read and written only in training with a batch of exactly `dim_batch` rows; otherwise
    (serving, evaluation, a short last batch) every row sees an empty context, so any batch size
    works. In training, each row independently sees no context with probability `context_drop`,
    which is how serving always sees it; the stored context keeps growing regardless.
    """

    def __init__(self, dim_batch, width_enc, width_dec, context_drop=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        for key, value in (("dim_batch", dim_batch), ("width_enc", width_enc),
                           ("width_dec", width_dec)):
            if value < 1:
                raise ValueError(f"Frames: {key} must be at least 1, received {key}={value!r}")
        if not 0 <= context_drop <= 1:
            raise ValueError(f"Frames: context_drop must be in [0, 1], "
                             f"received context_drop={context_drop!r}")
        self.dim_batch, self.width_enc, self.width_dec = dim_batch, width_enc, width_dec
        self.context_drop, self.seed = context_drop, seed

    def build(self, input_shape):
        kw = dict(dtype=tf.int64, initializer="zeros", trainable=False)
        self.prev = self.add_weight(name="prev", shape=(self.dim_batch, self.width_enc), **kw)
        self.prev_len = self.add_weight(name="prev_len", shape=(self.dim_batch,), **kw)
        super().build(input_shape)

    @without_autograph
    def call(self, enc, dec, tgt=None, training=None):
        """Windows one batch.

        Args:
            enc: ragged int [B, None], `defs SEP op SEP` tokens.
            dec: ragged int [B, None], the blanked result tokens, at most `width_dec` per row.
            tgt: ragged int [B, None], the correct result tokens ending with STP; only used to
                update the context in training, so it may be None or have empty rows otherwise.
        Returns:
            [ye, enc_len, yd, dec_len]: ye int64 [B, width_enc], the last width_enc tokens of
            context + enc, right-aligned and left-padded with SPC; enc_len int64 [B], how many
            of ye's right-most tokens are valid; yd int64 [B, width_dec], dec right-padded with
            SPC; dec_len int64 [B].
        """
        enc, dec = tf.cast(enc, tf.int64), tf.cast(dec, tf.int64)
        n = enc.nrows()
        if tgt is None:
            tgt = tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int64), tf.zeros([n], tf.int64))
        tgt = tf.cast(tgt, tf.int64)
        # With context_drop 1 no row ever sees the context: it is neither read nor written.
        off = training is None or training is False or self.context_drop >= 1
        use = None if off else tf.logical_and(tf.cast(training, tf.bool),
                                              tf.equal(n, self.dim_batch))

        def no_context():
            zeros = tf.zeros([n], tf.int64)
            return tf.zeros([n, self.width_enc], tf.int64), zeros, zeros

        ctx, seen, held = no_context() if use is None else tf.cond(use, self._read, no_context)
        ye, enc_len = _tail(tf.concat([_right_rows(ctx, seen), enc], axis=1), self.width_enc)

        dec_len = dec.row_lengths()
        check = tf.debugging.assert_less_equal(
            dec_len, tf.constant(self.width_dec, tf.int64),
            message=f"Frames: every dec row must have at most width_dec={self.width_dec} "
                    f"tokens; received dec row lengths")
        with tf.control_dependencies([check]):
            yd = dec.to_tensor(default_value=SPC, shape=[None, self.width_dec])

        if use is not None:
            prev, prev_len = _tail(tf.concat([_right_rows(ctx, held), enc, tgt], axis=1),
                                   self.width_enc)
            tf.cond(use, lambda: self._write(prev, prev_len), lambda: tf.constant(False))
        return [ye, enc_len, yd, dec_len]

    def _read(self):
        """(context, its length as this step sees it after context_drop, its stored length)."""
        held = tf.identity(self.prev_len)
        keep = tf.random.uniform([self.dim_batch], seed=self.seed) >= self.context_drop
        return tf.identity(self.prev), tf.where(keep, held, tf.zeros_like(held)), held

    def _write(self, prev, prev_len):
        with tf.control_dependencies([self.prev.assign(prev), self.prev_len.assign(prev_len)]):
            return tf.constant(True)

    def get_config(self):
        config = super().get_config()
        config.update(dim_batch=self.dim_batch, width_enc=self.width_enc, width_dec=self.width_dec,
                      context_drop=self.context_drop, seed=self.seed)
        return config


@register
class Embed(tf_keras.layers.Layer):
    """Token embedding plus a learned position signal per stream.

    One layer, shared by encoder and decoder: the token table is common, while the right-aligned
    encoder window and the decoder positions each have their own position table. With
    `scale_tokens` (the reference's choice) token vectors start at unit scale per element while
    the position tables start at 0.02; without it, both start at 0.02.
    """

    def __init__(self, vocab_size, dim_hidden, width_enc, width_dec, scale_tokens=True,
                 place_positions=False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim_hidden = vocab_size, dim_hidden
        self.width_enc, self.width_dec = width_enc, width_dec
        self.scale_tokens, self.place_positions = scale_tokens, place_positions

    def build(self, input_shape):
        normal = tf_keras.initializers.RandomNormal
        h = self.dim_hidden
        token_scale = h**-0.5 if self.scale_tokens else 0.02
        self.emb = self.add_weight(name="emb", shape=(self.vocab_size, h),
                                   initializer=normal(stddev=token_scale))
        self.pos_enc = self.add_weight(name="pos_enc", shape=(self.width_enc, h),
                                       initializer=normal(stddev=0.02))
        self.pos_dec = self.add_weight(name="pos_dec", shape=(self.width_dec, h),
                                       initializer=normal(stddev=0.02))
        if self.place_positions:
            # Row 0: no place (not a digit); row p + 1: place p (ones, tens, ...).
            places = max(self.width_enc, self.width_dec) + 1
            self.place = self.add_weight(name="place", shape=(places, h),
                                         initializer=normal(stddev=0.02))
        super().build(input_shape)

    @without_autograph
    def call(self, tokens, stream="enc"):
        """tokens: int [B, width_enc] for stream "enc", [B, width_dec] for "dec" -> [B, width, H]"""
        if stream not in ("enc", "dec"):
            raise ValueError(f"Embed: stream must be 'enc' or 'dec', received stream={stream!r}")
        pos = self.pos_enc if stream == "enc" else self.pos_dec
        if tokens.shape[-1] is not None and tokens.shape[-1] != pos.shape[0]:
            raise ValueError(f"Embed: stream {stream!r} expects {pos.shape[0]} positions, "
                             f"received tokens of shape {tokens.shape}")
        y = tf.nn.embedding_lookup(self.emb, tokens)
        if self.scale_tokens:
            y *= self.dim_hidden**0.5
        y += pos
        if self.place_positions:
            ids = digit_places(tokens) if stream == "enc" else tf.range(1, self.width_dec + 1)
            y += tf.gather(self.place, ids)
        return tf.cast(y, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, dim_hidden=self.dim_hidden,
                      width_enc=self.width_enc, width_dec=self.width_dec,
                      scale_tokens=self.scale_tokens, place_positions=self.place_positions)
        return config


@register
class Attention(tf_keras.layers.Layer):
    """Multi-head attention with pre-LayerNorm, a key padding mask and a residual connection."""

    def __init__(self, dim_hidden, dim_heads, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if dim_heads < 1 or dim_hidden % dim_heads:
            raise ValueError(f"Attention: dim_heads must divide dim_hidden, received "
                             f"dim_heads={dim_heads!r}, dim_hidden={dim_hidden!r}")
        self.dim_hidden, self.dim_heads, self.dropout = dim_hidden, dim_heads, dropout

    def build(self, input_shape):
        heads, width = self.dim_heads, self.dim_hidden // self.dim_heads
        project = dict(equation="bnh,hxd->bnxd", output_shape=(None, heads, width),
                       bias_axes="xd")
        self.norm = tf_keras.layers.LayerNormalization(epsilon=_EPSILON, name="norm")
        self.q = tf_keras.layers.EinsumDense(**project, name="q")
        self.k = tf_keras.layers.EinsumDense(**project, name="k")
        self.v = tf_keras.layers.EinsumDense(**project, name="v")
        self.out = tf_keras.layers.EinsumDense(
            "bnxd,xdh->bnh", output_shape=(None, self.dim_hidden), bias_axes="h", name="out")
        self.drop = tf_keras.layers.Dropout(self.dropout, name="drop")
        super().build(input_shape)

    @without_autograph
    def call(self, query, context=None, mask=None, training=None):
        """Attends from query to context.

        Args:
            query: float [B, N, H].
            context: float [B, M, H], already normalised (the encoder output); None means
                self-attention over the normalised query (M = N).
            mask: bool [B, M], True for the keys that may be attended to; None means all.
        Returns:
            float [B, N, H]: query plus the attended values.
        """
        x = self.norm(query)
        ctx = x if context is None else context
        q = self.q(x) * (self.dim_hidden // self.dim_heads) ** -0.5
        scores = tf.einsum("bnxd,bmxd->bxnm", q, self.k(ctx))
        if mask is not None:
            valid = tf.cast(mask, tf.bool)[:, None, None, :]
            scores = tf.where(valid, scores, tf.constant(-1e9, scores.dtype))
        probs = tf.nn.softmax(scores)
        if mask is not None:
            # A query with no valid key at all attends to nothing instead of averaging padding.
            probs *= tf.cast(valid, probs.dtype)
        y = tf.einsum("bxnm,bmxd->bnxd", self.drop(probs, training=training), self.v(ctx))
        return query + self.drop(self.out(y), training=training)

    def get_config(self):
        config = super().get_config()
        config.update(dim_hidden=self.dim_hidden, dim_heads=self.dim_heads,
                      dropout=self.dropout)
        return config


@register
class Conclusion(tf_keras.layers.Layer):
    """Position-wise feed-forward: inflate (relu) then deflate, with pre-LayerNorm and residual."""

    def __init__(self, dim_hidden, dim_dense, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.dim_hidden, self.dim_dense, self.dropout = dim_hidden, dim_dense, dropout

    def build(self, input_shape):
        self.norm = tf_keras.layers.LayerNormalization(epsilon=_EPSILON, name="norm")
        self.inflate = tf_keras.layers.Dense(self.dim_dense, activation="relu", name="inflate")
        self.deflate = tf_keras.layers.Dense(self.dim_hidden, name="deflate")
        self.drop = tf_keras.layers.Dropout(self.dropout, name="drop")
        super().build(input_shape)

    @without_autograph
    def call(self, x, training=None):
        """x: float [B, N, H] -> [B, N, H]."""
        return x + self.drop(self.deflate(self.inflate(self.norm(x))), training=training)

    def get_config(self):
        config = super().get_config()
        config.update(dim_hidden=self.dim_hidden, dim_dense=self.dim_dense,
                      dropout=self.dropout)
        return config


class _Block(tf_keras.layers.Layer):
    """Shared settings of Encoder, Decoder, Encode and Decode."""

    def __init__(self, dim_hidden, dim_heads, dim_dense, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.dim_hidden, self.dim_heads = dim_hidden, dim_heads
        self.dim_dense, self.dropout = dim_dense, dropout

    def _attention(self, name):
        return Attention(self.dim_hidden, self.dim_heads, self.dropout, name=name)

    def _conclusion(self):
        return Conclusion(self.dim_hidden, self.dim_dense, self.dropout, name="conclude")

    def get_config(self):
        config = super().get_config()
        config.update(dim_hidden=self.dim_hidden, dim_heads=self.dim_heads,
                      dim_dense=self.dim_dense, dropout=self.dropout)
        return config


@register
class Encoder(_Block):
    """One encoder stack: self-attention over the window ("reflect"), then "conclude"."""

    def build(self, input_shape):
        self.reflect, self.conclude = self._attention("reflect"), self._conclusion()
        super().build(input_shape)

    @without_autograph
    def call(self, x, mask=None, training=None):
        """x: float [B, W, H]; mask: bool [B, W], True on valid tokens -> [B, W, H]."""
        y = self.reflect(x, mask=mask, training=training)
        return self.conclude(y, training=training)


@register
class Decoder(_Block):
    """One decoder stack: "reflect" over all decoder positions, "consider" the encoder, "conclude".

    No causal mask: the decoder predicts every result position at once (Mask-Predict style).
    """

    def build(self, input_shape):
        self.reflect, self.consider = self._attention("reflect"), self._attention("consider")
        self.conclude = self._conclusion()
        super().build(input_shape)

    @without_autograph
    def call(self, x, ctx, ctx_mask=None, training=None):
        """x: float [B, D, H]; ctx: encoder output [B, W, H]; ctx_mask: bool [B, W] -> [B, D, H]."""
        y = self.reflect(x, training=training)
        y = self.consider(y, ctx, mask=ctx_mask, training=training)
        return self.conclude(y, training=training)


class _Stack(_Block):
    """dim_stacks blocks, run `loops` times over with the stack's input added again before each
    further round: depth without more weights."""

    def __init__(self, dim_stacks, dim_hidden, dim_heads, dim_dense, dropout=0.0, loops=1,
                 **kwargs):
        super().__init__(dim_hidden, dim_heads, dim_dense, dropout, **kwargs)
        for key, value in (("dim_stacks", dim_stacks), ("loops", loops)):
            if value < 1:
                raise ValueError(f"{type(self).__name__}: {key} must be at least 1, "
                                 f"received {key}={value!r}")
        self.dim_stacks, self.loops = dim_stacks, loops

    def _blocks(self, cls, prefix):
        return [cls(self.dim_hidden, self.dim_heads, self.dim_dense, self.dropout,
                    name=f"{prefix}_{i}") for i in range(self.dim_stacks)]

    def get_config(self):
        config = super().get_config()
        config.update(dim_stacks=self.dim_stacks, loops=self.loops)
        return config


@register
class Encode(_Stack):
    """dim_stacks Encoders (enc_0, ...) and a final LayerNorm, as the decoders attend to it."""

    def build(self, input_shape):
        self.encs = self._blocks(Encoder, "enc")
        self.norm = tf_keras.layers.LayerNormalization(epsilon=_EPSILON, name="norm")
        super().build(input_shape)

    @without_autograph
    def call(self, x, enc_len, training=None):
        """x: float [B, W, H] embedded window; enc_len: int [B] valid right-most tokens."""
        mask = window_mask(enc_len, tf.shape(x)[1])
        y = x
        for round_index in range(self.loops):
            y = y + x if round_index else y
            for enc in self.encs:
                y = enc(y, mask=mask, training=training)
        return self.norm(y)


@register
class Decode(_Stack):
    """dim_stacks Decoders (dec_0, ...) over the embedded decoder positions."""

    def build(self, input_shape):
        self.decs = self._blocks(Decoder, "dec")
        super().build(input_shape)

    @without_autograph
    def call(self, x, ye, enc_len, training=None):
        """x: float [B, D, H]; ye: Encode output [B, W, H]; enc_len: int [B] -> [B, D, H]."""
        mask = window_mask(enc_len, tf.shape(ye)[1])
        y = x
        for round_index in range(self.loops):
            y = y + x if round_index else y
            for dec in self.decs:
                y = dec(y, ye, ctx_mask=mask, training=training)
        return y


@register
class Debed(tf_keras.layers.Layer):
    """Final LayerNorm and projection to vocabulary logits."""

    def __init__(self, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size

    def build(self, input_shape):
        self.norm = tf_keras.layers.LayerNormalization(epsilon=_EPSILON, name="norm")
        # Logits in float32 even under mixed precision, for a stable softmax and loss.
        self.dbd = tf_keras.layers.Dense(self.vocab_size, name="dbd", dtype="float32")
        super().build(input_shape)

    @without_autograph
    def call(self, x):
        """x: float [B, D, H] -> logits [B, D, vocab_size]."""
        return self.dbd(self.norm(x))

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size)
        return config


@register
class Hints(tf_keras.layers.Layer):
    """Training-only head: predicts a label at each result place (modules/hints.py: the carry
    into it, or which term is larger) from the decoder's states, so that the decoder learns to
    hold it; serving never reads it."""

    def __init__(self, classes, **kwargs):
        super().__init__(**kwargs)
        if classes < 2:
            raise ValueError(f"Hints: classes must be at least 2, received classes={classes!r}")
        self.classes = classes

    def build(self, input_shape):
        self.norm = tf_keras.layers.LayerNormalization(epsilon=_EPSILON, name="norm")
        self.dense = tf_keras.layers.Dense(self.classes, name="dense", dtype="float32")
        super().build(input_shape)

    @without_autograph
    def call(self, x):
        """x: float [B, D, H] -> logits [B, D, classes]."""
        return self.dense(self.norm(x))

    def get_config(self):
        config = super().get_config()
        config.update(classes=self.classes)
        return config
