//! The trained network for inference, in plain Rust (no tensor library): weights, their safetensors file, and
//! the forward pass from a feature vector to the label probabilities and the Gaussian of (g_s, g_u).
//!
//! The network: `x' = (x - x_mean) / x_sd`; hidden layers `h = silu(h W + b)`; a head with `4 + C` outputs
//! `[mu_s, mu_u, r_s, r_u, logit_1..logit_C]`. In the training units `z = (g - y_mean) / y_sd` the prediction is
//! `N(mu, sd)` with `sd = softplus(r) + sd_floor`; in DIC units the mean is `y_mean + y_sd mu` and the standard
//! deviation `y_sd sd T`, with `T` the calibration temperature of each DIC, averaged over the labels with the
//! label probabilities as weights.
//!
//! File layout (safetensors, every tensor float32, `W` stored as `[d_in, d_out]`): `x_mean`, `x_sd` `[F]`;
//! `y_mean`, `y_sd` `[2]`; `hidden.<k>.weight` `[d_in, d_out]` and `hidden.<k>.bias` `[d_out]` for
//! k = 0, 1, ...; `head.weight` `[H, 4 + C]`, `head.bias` `[4 + C]`; `temperature` `[C, 2]`; optionally the
//! rate-only regressors `rate_baseline.*` and `tonic_rate_baseline.*` and the bound of irregular patterns
//! `irregular_bound` `[1]` ([`crate::pattern`]). Weights that read the recording's noise amplitude
//! (`noise_input` = `1`) take [`N_NOISE_INPUTS`] more inputs after the features ([`noise_inputs`]), so their
//! `x_mean`, `x_sd` and first layer are that much longer. Metadata:
//! `format` = `spikepop-predict`, `model` (stg or da), `features_version`, `labels` (comma-separated),
//! `activation` = `silu`, `sd_floor`, `resolution_ms` (only when > 0; see [`crate::augment::blur`]), and
//! free-form training notes.

use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors};

use crate::features::{self, LABELS, N_FEATURES};

/// The `format` metadata value of a weights file.
pub const FORMAT: &str = "spikepop-predict";
/// Outputs of the head before the label logits.
pub const N_GAUSS: usize = 4;

/// A dense layer, `y = x W + b` with `W` row-major `[d_in, d_out]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Input size.
    pub d_in: usize,
    /// Output size.
    pub d_out: usize,
    /// `[d_in, d_out]`, row-major.
    pub w: Vec<f32>,
    /// `[d_out]`.
    pub b: Vec<f32>,
}

impl Dense {
    /// `out[b] = x[b] W + bias` for a batch of rows. Each row is computed on its own, in the same order of
    /// operations whatever the batch and the CPU: each output starts from its bias and adds `x_k w_kj` for
    /// k = 0, 1, ... with one fused multiply-add each (one rounding, as IEEE 754 defines it), so a train's
    /// prediction does not depend on the trains batched with it nor on the machine. On x86-64 CPUs with AVX2
    /// and FMA (and on every aarch64 CPU) the loop runs on vector FMA instructions; elsewhere `f32::mul_add`
    /// computes the same bits in software, much more slowly. The simulator's `multiversion` dispatch was
    /// measured here too: 8% slower in the same benchmark run.
    fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        assert_eq!(self.w.len(), self.d_in * self.d_out, "weight shape");
        assert_eq!(self.b.len(), self.d_out, "bias shape");
        assert_eq!(x.len(), rows * self.d_in, "input shape");
        out.clear();
        out.resize(rows * self.d_out, 0.0);
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            unsafe { self.rows_avx2(x, out) };
            return;
        }
        self.rows(x, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn rows_avx2(&self, x: &[f32], out: &mut [f32]) {
        self.rows(x, out);
    }

    /// Every row as [`Dense::row_cols`] computes it, in tiles of [`TILE_ROWS`] rows and [`TILE_COLS`] outputs whose
    /// sums stay in registers while each weight is loaded once per tile (not once per row). Each output still
    /// starts from its bias and adds `x_k w_kj` for k = 0, 1, ... in order, so the bits are those of the plain
    /// loop (tested); an `x_k` of 0 adds a signed zero, which leaves a sum as it is.
    #[inline(always)]
    fn rows(&self, x: &[f32], out: &mut [f32]) {
        let (d_in, d_out) = (self.d_in, self.d_out);
        let n = x.len() / d_in;
        let full_rows = n - n % TILE_ROWS;
        let full_cols = d_out - d_out % TILE_COLS;
        for r0 in (0..full_rows).step_by(TILE_ROWS) {
            for c0 in (0..full_cols).step_by(TILE_COLS) {
                let mut acc = [[0f32; TILE_COLS]; TILE_ROWS];
                for a in &mut acc {
                    a.copy_from_slice(&self.b[c0..c0 + TILE_COLS]);
                }
                for k in 0..d_in {
                    let w = &self.w[k * d_out + c0..k * d_out + c0 + TILE_COLS];
                    for (r, a) in acc.iter_mut().enumerate() {
                        let xi = x[(r0 + r) * d_in + k];
                        for (aj, wj) in a.iter_mut().zip(w) {
                            *aj = xi.mul_add(*wj, *aj);
                        }
                    }
                }
                for (r, a) in acc.iter().enumerate() {
                    out[(r0 + r) * d_out + c0..(r0 + r) * d_out + c0 + TILE_COLS]
                        .copy_from_slice(a);
                }
            }
            if full_cols < d_out {
                for r in r0..r0 + TILE_ROWS {
                    self.row_cols(
                        &x[r * d_in..(r + 1) * d_in],
                        &mut out[r * d_out..(r + 1) * d_out],
                        full_cols,
                    );
                }
            }
        }
        for r in full_rows..n {
            self.row_cols(
                &x[r * d_in..(r + 1) * d_in],
                &mut out[r * d_out..(r + 1) * d_out],
                0,
            );
        }
    }

    /// Outputs `from..d_out` of one row: the bias, then `x_k w_kj` added (fused) for k = 0, 1, ... (the
    /// definition).
    #[inline(always)]
    fn row_cols(&self, xr: &[f32], o: &mut [f32], from: usize) {
        o[from..].copy_from_slice(&self.b[from..]);
        for (&xi, wr) in xr.iter().zip(self.w.chunks_exact(self.d_out)) {
            if xi == 0.0 {
                continue;
            }
            for (oj, wj) in o[from..].iter_mut().zip(&wr[from..]) {
                *oj = xi.mul_add(*wj, *oj);
            }
        }
    }
}

/// Rows of a tile of [`Dense::rows`]. With [`TILE_COLS`], twelve 8-wide sums, one broadcast input and the
/// tile's two weight vectors fill AVX2's sixteen registers: 6 x 16 was the fastest of 3-12 rows x 8-32
/// outputs measured (`cargo bench -p spikepop-predict --bench predict`; 4 x 32, which spills, 27% slower).
const TILE_ROWS: usize = 6;
/// Outputs of a tile: two 8-wide vectors per row.
const TILE_COLS: usize = 16;

/// Inputs that weights with [`Weights::noise_input`] read after the features: whether the recording's noise
/// amplitude is told (1) or not (0), and the amplitude over [`NOISE_SCALE`] (0 when not told).
pub const N_NOISE_INPUTS: usize = 2;
/// The noise amplitude's scale (uA/cm²): the network reads sigma / `NOISE_SCALE`.
pub const NOISE_SCALE: f64 = 10.0;

/// The noise inputs ([`N_NOISE_INPUTS`]) for a told amplitude (`Some(sigma)`: the sd of the recording's current
/// noise in uA/cm², as `spikepop dataset --noise` sets it; 0 for a noise-free cell) or an unknown one (`None`).
pub fn noise_inputs(told: Option<f64>) -> [f32; N_NOISE_INPUTS] {
    match told {
        Some(sigma) => [1.0, (sigma / NOISE_SCALE) as f32],
        None => [0.0, 0.0],
    }
}

/// The note (metadata key) holding the integration step (ms) of the noise-free training trains, when known.
pub const SIM_DT_NOTE: &str = "sim_dt_ms";

/// Everything the predictor needs at inference.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// The neuron model the network was trained for (`stg` or `da`).
    pub model: String,
    /// Feature standardisation.
    pub x_mean: Vec<f32>,
    /// Feature standardisation (no zeros).
    pub x_sd: Vec<f32>,
    /// Target standardisation of (g_s, g_u).
    pub y_mean: [f32; 2],
    /// Target standardisation of (g_s, g_u).
    pub y_sd: [f32; 2],
    /// Hidden layers (SiLU after each).
    pub hidden: Vec<Dense>,
    /// The output layer: `4 + C` outputs.
    pub head: Dense,
    /// Calibration temperature per label and DIC, `[C][2]` (1 before calibration).
    pub temperature: Vec<[f32; 2]>,
    /// Smallest standard deviation, in standardised units.
    pub sd_floor: f32,
    /// Spike-time resolution (ms) the network was trained at: the predictor blurs every train by it
    /// ([`crate::augment::blur`]); 0 for none (and for files without the key).
    pub resolution_ms: f64,
    /// Free-form notes written to and read from the file's metadata (training data, epochs, seed, ...).
    pub notes: BTreeMap<String, String>,
    /// The feature version the network was trained on: it reads the first
    /// [`features::n_features`]`(features_version)` entries of each feature vector.
    pub features_version: u32,
    /// The rate-only baseline fitted on the same training trains (tensors `rate_baseline.*`), when the
    /// weights have one: the yardstick of `spikepop evaluate`.
    pub rate_baseline: Option<crate::baseline::RateBaseline>,
    /// The same regressor fitted on the tonic training trains alone (tensors `tonic_rate_baseline.*`), when
    /// the weights have one: what a tonic train's rate says about its DICs, from which `spikepop reconstruct`
    /// draws part of a tonic population's targets.
    pub tonic_rate_baseline: Option<crate::baseline::RateBaseline>,
    /// The most irregular pattern of the training trains (tensor `irregular_bound` `[1]`), when the weights
    /// have one: an irregular train beyond it is out of the domain ([`crate::pattern`]).
    pub irregular_bound: Option<f32>,
    /// Whether the network reads the recording's noise amplitude ([`noise_inputs`], metadata `noise_input`):
    /// trained with `spikepop train --p-noise-told`, it predicts from the spike times alone when the amplitude
    /// is not told, and from both when it is ([`Weights::forward_told`]).
    pub noise_input: bool,
}

/// Why a weights file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WeightsError {
    /// Not a safetensors file.
    #[error("not a safetensors file: {0}")]
    NotSafetensors(String),
    /// Metadata missing or not what this version reads.
    #[error("metadata `{key}`: {msg}")]
    Metadata {
        /// The metadata key.
        key: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A tensor is missing.
    #[error("tensor `{0}` is missing")]
    Missing(String),
    /// A tensor has the wrong shape or type.
    #[error("tensor `{name}` has {found}; expected {expected}")]
    Shape {
        /// The tensor.
        name: String,
        /// What it has.
        found: String,
        /// What it should have.
        expected: String,
    },
    /// A value is not finite or out of range.
    #[error("tensor `{0}` holds a value that is not finite (or an sd <= 0)")]
    Value(String),
}

fn softplus(x: f32) -> f32 {
    if x > 20.0 { x } else { x.exp().ln_1p() }
}

/// Whether this x86-64 CPU runs the vector paths (AVX2 and FMA).
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// `e^x` for `x` in [-87, 88] (clamped there) in single precision, relative error below 2e-7: `x = n ln 2 + r`
/// with `|r| <= ln 2 / 2`, a degree-6 polynomial for `e^r` (Cephes' `expf` coefficients) and `2^n` from the
/// exponent bits. Only rounding, multiplies, fused multiply-adds and bit moves, so a loop over it runs on vector
/// instructions (libm's `expf` is a call per value) and gives the same bits on every machine.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = n.mul_add(-0.693_359_4, x);
    let r = n.mul_add(2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4_f32;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = p.mul_add(r, c);
    }
    let er = p.mul_add(r * r, r) + 1.0;
    er * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `x / (1 + e^-x)`.
#[inline(always)]
fn silu(x: f32) -> f32 {
    x / (1.0 + exp_f32(-x))
}

/// [`silu`] of every value in place, on vector instructions where the CPU has them.
fn silu_all(v: &mut [f32]) {
    #[inline(always)]
    fn each(v: &mut [f32]) {
        for x in v {
            *x = silu(*x);
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn each_avx2(v: &mut [f32]) {
        each(v)
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        unsafe { each_avx2(v) };
        return;
    }
    each(v)
}

/// The prediction for one train.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// Probability of each label of [`LABELS`].
    pub p: [f32; LABELS.len()],
    /// Mean of g_s.
    pub g_s: f64,
    /// Standard deviation of g_s.
    pub sd_g_s: f64,
    /// Mean of g_u.
    pub g_u: f64,
    /// Standard deviation of g_u.
    pub sd_g_u: f64,
}

impl Output {
    /// Index in [`LABELS`] of the most probable label.
    pub fn label_index(&self) -> usize {
        let mut best = 0;
        for (i, p) in self.p.iter().enumerate() {
            if *p > self.p[best] {
                best = i;
            }
        }
        best
    }
}

/// The output of one row of raw head values `[mu_s, mu_u, r_s, r_u, logit_1..logit_C]` (see the module
/// documentation): the target standardisation `y_mean`, `y_sd`, the sd floor and the calibration temperature
/// `[C][2]`. Shared by every network with this head (the shipped MLP and the sequence baseline example).
pub fn decode(
    o: &[f32],
    y_mean: [f32; 2],
    y_sd: [f32; 2],
    sd_floor: f32,
    temperature: &[[f32; 2]],
) -> Output {
    let logits = &o[N_GAUSS..];
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    let mut p = [0f32; LABELS.len()];
    for (k, v) in e.iter().enumerate().take(LABELS.len()) {
        p[k] = v / sum;
    }
    let mut t = [0f32; 2];
    for (k, tk) in temperature.iter().enumerate().take(logits.len()) {
        t[0] += p[k] * tk[0];
        t[1] += p[k] * tk[1];
    }
    let sd = |d: usize| (y_sd[d] * (softplus(o[2 + d]) + sd_floor) * t[d]) as f64;
    Output {
        p,
        g_s: (y_mean[0] + y_sd[0] * o[0]) as f64,
        sd_g_s: sd(0),
        g_u: (y_mean[1] + y_sd[1] * o[1]) as f64,
        sd_g_u: sd(1),
    }
}

impl Weights {
    /// Number of labels.
    pub fn n_labels(&self) -> usize {
        self.head.d_out - N_GAUSS
    }

    /// The integration steps (ms, ascending) of the noise-free trains the network was trained on, when
    /// `spikepop train` could tell them (note [`SIM_DT_NOTE`], comma-separated); empty when unknown. Below its
    /// resolution the network reads the trains of cells simulated at those steps, and those of a step finer
    /// than the finest; the structured spike-time error of any other step is outside what it was trained on.
    pub fn sim_dts_ms(&self) -> Vec<f64> {
        let Some(note) = self.notes.get(SIM_DT_NOTE) else {
            return Vec::new();
        };
        let steps: Option<Vec<f64>> = note
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v > 0.0)
            })
            .collect();
        let mut steps = steps.unwrap_or_default();
        steps.sort_by(f64::total_cmp);
        steps
    }

    /// Records the integration steps (ms) of the noise-free training trains, read back by
    /// [`Weights::sim_dts_ms`].
    pub fn set_sim_dts_ms(&mut self, steps: &[f64]) {
        let steps: Vec<String> = steps.iter().map(f64::to_string).collect();
        self.notes.insert(SIM_DT_NOTE.into(), steps.join(","));
    }

    /// Parameter count.
    pub fn n_params(&self) -> usize {
        self.hidden
            .iter()
            .chain(std::iter::once(&self.head))
            .map(|d| d.w.len() + d.b.len())
            .sum()
    }

    /// The network's standardised inputs for one feature row ([`N_FEATURES`] entries; weights of an older
    /// version read the first ones): the features, then, for weights that read it, the noise amplitude told or
    /// not ([`noise_inputs`]). Training batches and predictions are both built by it.
    pub fn inputs<'a>(
        &'a self,
        row: &'a [f32],
        told: Option<f64>,
    ) -> impl Iterator<Item = f32> + 'a {
        let extra = if self.noise_input { N_NOISE_INPUTS } else { 0 };
        row[..self.x_mean.len() - extra]
            .iter()
            .copied()
            .chain(noise_inputs(told).into_iter().take(extra))
            .zip(&self.x_mean)
            .zip(&self.x_sd)
            .map(|((v, m), s)| (v - m) / s)
    }

    /// The raw head outputs (before softplus and softmax) for `rows` feature rows of the current version
    /// ([`N_FEATURES`] each; weights of an older version read the first entries of each row), the noise
    /// amplitude not told.
    pub fn raw(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.raw_told(x, rows, None)
    }

    /// [`Weights::raw`] with the recording's noise amplitude told (`Some(sigma)`, uA/cm²) or not (`None`), for
    /// weights that read it ([`Weights::noise_input`]; other weights ignore it).
    pub fn raw_told(&self, x: &[f32], rows: usize, told: Option<f64>) -> Vec<f32> {
        self.raw_each(x, std::iter::repeat_n(told, rows))
    }

    /// [`Weights::raw_told`] with an amplitude (or none) per row: as many rows as `told` gives.
    pub fn raw_each(
        &self,
        x: &[f32],
        told: impl ExactSizeIterator<Item = Option<f64>>,
    ) -> Vec<f32> {
        let rows = told.len();
        assert_eq!(
            x.len(),
            rows * N_FEATURES,
            "feature rows have the wrong length"
        );
        let mut h: Vec<f32> = x
            .chunks_exact(N_FEATURES)
            .zip(told)
            .flat_map(|(r, t)| self.inputs(r, t))
            .collect();
        let mut tmp = Vec::new();
        for layer in &self.hidden {
            layer.forward(&h, rows, &mut tmp);
            silu_all(&mut tmp);
            std::mem::swap(&mut h, &mut tmp);
        }
        self.head.forward(&h, rows, &mut tmp);
        tmp
    }

    /// Predictions for `rows` feature vectors (row-major, [`N_FEATURES`] each), the noise amplitude not told.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<Output> {
        self.forward_told(x, rows, None)
    }

    /// [`Weights::forward`] with the recording's noise amplitude told or not ([`Weights::raw_told`]).
    pub fn forward_told(&self, x: &[f32], rows: usize, told: Option<f64>) -> Vec<Output> {
        let raw = self.raw_told(x, rows, told);
        raw.chunks_exact(self.head.d_out)
            .map(|o| self.output(o))
            .collect()
    }

    /// The output of one row of raw head values.
    pub fn output(&self, o: &[f32]) -> Output {
        decode(
            &o[..N_GAUSS + self.n_labels()],
            self.y_mean,
            self.y_sd,
            self.sd_floor,
            &self.temperature,
        )
    }

    /// SHA-256 of [`Weights::to_bytes`] in hex: identifies the weights in run records.
    pub fn sha256(&self) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(self.to_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The safetensors bytes of these weights.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = vec![
            (
                "x_mean".into(),
                vec![self.x_mean.len()],
                self.x_mean.clone(),
            ),
            ("x_sd".into(), vec![self.x_sd.len()], self.x_sd.clone()),
            ("y_mean".into(), vec![2], self.y_mean.to_vec()),
            ("y_sd".into(), vec![2], self.y_sd.to_vec()),
        ];
        for (k, d) in self.hidden.iter().enumerate() {
            tensors.push((
                format!("hidden.{k}.weight"),
                vec![d.d_in, d.d_out],
                d.w.clone(),
            ));
            tensors.push((format!("hidden.{k}.bias"), vec![d.d_out], d.b.clone()));
        }
        let h = &self.head;
        tensors.push(("head.weight".into(), vec![h.d_in, h.d_out], h.w.clone()));
        tensors.push(("head.bias".into(), vec![h.d_out], h.b.clone()));
        tensors.push((
            "temperature".into(),
            vec![self.temperature.len(), 2],
            self.temperature.iter().flatten().copied().collect(),
        ));
        for (prefix, baseline) in [
            ("rate_baseline", &self.rate_baseline),
            ("tonic_rate_baseline", &self.tonic_rate_baseline),
        ] {
            let Some(b) = baseline else { continue };
            tensors.push((
                format!("{prefix}.edges"),
                vec![b.edges.len()],
                b.edges.clone(),
            ));
            tensors.push((format!("{prefix}.range"), vec![2], b.range.to_vec()));
            for (name, v) in [("centre", &b.centre), ("sd", &b.sd)] {
                tensors.push((
                    format!("{prefix}.{name}"),
                    vec![v.len(), 2],
                    v.iter().flatten().copied().collect(),
                ));
            }
        }
        if let Some(b) = self.irregular_bound {
            tensors.push(("irregular_bound".into(), vec![1], vec![b]));
        }
        let mut meta: BTreeMap<String, String> = self.notes.clone();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("model".into(), self.model.clone());
        meta.insert("features_version".into(), self.features_version.to_string());
        meta.insert("labels".into(), LABELS.map(|l| l.as_str()).join(","));
        meta.insert("activation".into(), "silu".into());
        meta.insert("sd_floor".into(), self.sd_floor.to_string());
        if self.resolution_ms > 0.0 {
            meta.insert("resolution_ms".into(), self.resolution_ms.to_string());
        }
        if self.noise_input {
            meta.insert("noise_input".into(), "1".into());
        }
        // Written by hand (not by `safetensors::serialize`, whose metadata is a HashMap) so that the same
        // weights always give the same bytes: header keys sorted, tensors in name order.
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let mut header = serde_json::Map::new();
        header.insert(
            "__metadata__".into(),
            serde_json::Value::Object(
                meta.into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            ),
        );
        let mut offset = 0usize;
        for (name, shape, v) in &tensors {
            let end = offset + 4 * v.len();
            header.insert(
                name.clone(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
            );
            offset = end;
        }
        let mut head = serde_json::to_string(&serde_json::Value::Object(header))
            .expect("serialisable header")
            .into_bytes();
        while !head.len().is_multiple_of(8) {
            head.push(b' ');
        }
        let mut out = Vec::with_capacity(8 + head.len() + offset);
        out.extend_from_slice(&(head.len() as u64).to_le_bytes());
        out.extend_from_slice(&head);
        for (_, _, v) in &tensors {
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }

    /// Reads weights from safetensors bytes, checking the metadata, every shape and every value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Weights, WeightsError> {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| WeightsError::NotSafetensors(e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |key: &'static str| -> Result<String, WeightsError> {
            meta.get(key).cloned().ok_or(WeightsError::Metadata {
                key,
                msg: "missing (not a spikepop-predict weights file?)".into(),
            })
        };
        let format = get("format")?;
        if format != FORMAT {
            return Err(WeightsError::Metadata {
                key: "format",
                msg: format!("`{format}`; expected `{FORMAT}`"),
            });
        }
        let fv = get("features_version")?;
        let (features_version, n_in) = fv
            .parse()
            .ok()
            .and_then(|v| Some((v, features::n_features(v)?)))
            .ok_or_else(|| WeightsError::Metadata {
                key: "features_version",
                msg: format!(
                    "{fv}; this spikepop reads features versions 3 to {} (retrain the weights)",
                    features::VERSION
                ),
            })?;
        let labels = get("labels")?;
        let want = LABELS.map(|l| l.as_str()).join(",");
        if labels != want {
            return Err(WeightsError::Metadata {
                key: "labels",
                msg: format!("`{labels}`; expected `{want}`"),
            });
        }
        let act = get("activation")?;
        if act != "silu" {
            return Err(WeightsError::Metadata {
                key: "activation",
                msg: format!("`{act}`; expected `silu`"),
            });
        }
        let sd_floor: f32 = get("sd_floor")?
            .parse()
            .ok()
            .filter(|v: &f32| v.is_finite() && *v >= 0.0)
            .ok_or(WeightsError::Metadata {
                key: "sd_floor",
                msg: "expected a number >= 0".into(),
            })?;
        let resolution_ms: f64 = match meta.get("resolution_ms") {
            None => 0.0,
            Some(v) => v
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or(WeightsError::Metadata {
                    key: "resolution_ms",
                    msg: format!("`{v}`; expected a number of ms >= 0"),
                })?,
        };
        let noise_input = match meta.get("noise_input").map(String::as_str) {
            None => false,
            Some("1") => true,
            Some(v) => {
                return Err(WeightsError::Metadata {
                    key: "noise_input",
                    msg: format!("`{v}`; expected `1` (or no key)"),
                });
            }
        };
        let n_in = n_in + if noise_input { N_NOISE_INPUTS } else { 0 };
        let model = get("model")?;
        let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>, WeightsError> {
            let t = st
                .tensor(name)
                .map_err(|_| WeightsError::Missing(name.to_string()))?;
            if t.dtype() != Dtype::F32 || t.shape() != shape {
                return Err(WeightsError::Shape {
                    name: name.to_string(),
                    found: format!("{:?} {:?}", t.dtype(), t.shape()),
                    expected: format!("F32 {shape:?}"),
                });
            }
            let v: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if v.iter().any(|x| !x.is_finite()) {
                return Err(WeightsError::Value(name.to_string()));
            }
            Ok(v)
        };
        let shape_of = |name: &str| -> Result<Vec<usize>, WeightsError> {
            st.tensor(name)
                .map(|t| t.shape().to_vec())
                .map_err(|_| WeightsError::Missing(name.to_string()))
        };
        let x_mean = tensor("x_mean", &[n_in])?;
        let x_sd = tensor("x_sd", &[n_in])?;
        let y_mean = tensor("y_mean", &[2])?;
        let y_sd = tensor("y_sd", &[2])?;
        if x_sd.iter().chain(&y_sd).any(|s| *s <= 0.0) {
            return Err(WeightsError::Value("x_sd/y_sd".into()));
        }
        let mut hidden = Vec::new();
        let mut d_in = n_in;
        while st
            .tensor(&format!("hidden.{}.weight", hidden.len()))
            .is_ok()
        {
            let k = hidden.len();
            let name = format!("hidden.{k}.weight");
            let s = shape_of(&name)?;
            if s.len() != 2 || s[0] != d_in || s[1] == 0 {
                return Err(WeightsError::Shape {
                    name,
                    found: format!("{s:?}"),
                    expected: format!("[{d_in}, H]"),
                });
            }
            let d_out = s[1];
            let w = tensor(&name, &[d_in, d_out])?;
            let b = tensor(&format!("hidden.{k}.bias"), &[d_out])?;
            hidden.push(Dense { d_in, d_out, w, b });
            d_in = d_out;
        }
        let c = LABELS.len();
        let head = Dense {
            d_in,
            d_out: N_GAUSS + c,
            w: tensor("head.weight", &[d_in, N_GAUSS + c])?,
            b: tensor("head.bias", &[N_GAUSS + c])?,
        };
        let t = tensor("temperature", &[c, 2])?;
        if t.iter().any(|v| *v <= 0.0) {
            return Err(WeightsError::Value("temperature".into()));
        }
        let temperature = t.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
        let baseline =
            |prefix: &str| -> Result<Option<crate::baseline::RateBaseline>, WeightsError> {
                let Ok(s) = shape_of(&format!("{prefix}.centre")) else {
                    return Ok(None);
                };
                let bins = s.first().copied().unwrap_or(0);
                let pairs = |name: &str| -> Result<Vec<[f32; 2]>, WeightsError> {
                    Ok(tensor(&format!("{prefix}.{name}"), &[bins, 2])?
                        .chunks_exact(2)
                        .map(|p| [p[0], p[1]])
                        .collect())
                };
                let b = crate::baseline::RateBaseline {
                    edges: tensor(&format!("{prefix}.edges"), &[bins.saturating_sub(1)])?,
                    centre: pairs("centre")?,
                    sd: pairs("sd")?,
                    range: {
                        let r = tensor(&format!("{prefix}.range"), &[2])?;
                        [r[0], r[1]]
                    },
                };
                if !b.is_valid() {
                    return Err(WeightsError::Value(prefix.into()));
                }
                Ok(Some(b))
            };
        let rate_baseline = baseline("rate_baseline")?;
        let tonic_rate_baseline = baseline("tonic_rate_baseline")?;
        let irregular_bound = match st.tensor("irregular_bound") {
            Err(_) => None,
            Ok(_) => {
                let b = tensor("irregular_bound", &[1])?[0];
                if b < 0.0 {
                    return Err(WeightsError::Value("irregular_bound".into()));
                }
                Some(b)
            }
        };
        const FIXED: [&str; 9] = [
            "format",
            "model",
            "features_version",
            "labels",
            "activation",
            "sd_floor",
            "resolution_ms",
            "noise_input",
            "__metadata__",
        ];
        let notes = meta
            .into_iter()
            .filter(|(k, _)| !FIXED.contains(&k.as_str()))
            .collect();
        Ok(Weights {
            model,
            x_mean,
            x_sd,
            y_mean: [y_mean[0], y_mean[1]],
            y_sd: [y_sd[0], y_sd[1]],
            hidden,
            head,
            temperature,
            sd_floor,
            resolution_ms,
            notes,
            features_version,
            rate_baseline,
            tonic_rate_baseline,
            irregular_bound,
            noise_input,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Small random weights for tests.
    pub(crate) fn random_weights(hidden: &[usize], seed: u64) -> Weights {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut dense = |d_in: usize, d_out: usize| Dense {
            d_in,
            d_out,
            w: (0..d_in * d_out)
                .map(|_| rng.random_range(-0.3..0.3))
                .collect(),
            b: (0..d_out).map(|_| rng.random_range(-0.1..0.1)).collect(),
        };
        let mut layers = Vec::new();
        let mut d = N_FEATURES;
        for &h in hidden {
            layers.push(dense(d, h));
            d = h;
        }
        let head = dense(d, N_GAUSS + LABELS.len());
        Weights {
            model: "stg".into(),
            x_mean: vec![0.5; N_FEATURES],
            x_sd: vec![2.0; N_FEATURES],
            y_mean: [0.0, 10.0],
            y_sd: [11.5, 5.8],
            hidden: layers,
            head,
            temperature: vec![[1.0, 1.0]; LABELS.len()],
            sd_floor: 0.01,
            resolution_ms: 0.0,
            notes: BTreeMap::from([("epochs".to_string(), "3".to_string())]),
            features_version: features::VERSION,
            rate_baseline: None,
            tonic_rate_baseline: None,
            irregular_bound: None,
            noise_input: false,
        }
    }

    #[test]
    fn weights_of_an_older_feature_version_read_the_first_features() {
        let w = random_weights(&[16], 4);
        let n3 = features::n_features(3).unwrap();
        let mut old = w.clone();
        old.features_version = 3;
        old.x_mean.truncate(n3);
        old.x_sd.truncate(n3);
        old.hidden[0].d_in = n3;
        old.hidden[0].w.truncate(n3 * 16);
        let back = Weights::from_bytes(&old.to_bytes()).unwrap();
        assert_eq!(back, old);
        // The same as the current-version network whose weights on the newer features are zero.
        let mut zeroed = w.clone();
        zeroed.hidden[0].w[..n3 * 16].copy_from_slice(&old.hidden[0].w);
        zeroed.hidden[0].w[n3 * 16..].fill(0.0);
        let x: Vec<f32> = (0..2 * N_FEATURES).map(|i| (i % 13) as f32 - 6.0).collect();
        assert_eq!(back.forward(&x, 2), zeroed.forward(&x, 2));
        // A version this spikepop does not know is refused, with the versions it reads.
        old.features_version = 2;
        let e = Weights::from_bytes(&old.to_bytes()).unwrap_err();
        assert!(e.to_string().contains("features versions 3 to"), "{e}");
        // A version's feature count is checked.
        let mut bad = w.clone();
        bad.features_version = 3;
        let e = Weights::from_bytes(&bad.to_bytes()).unwrap_err();
        assert!(e.to_string().contains(&format!("[{n3}]")), "{e}");
    }

    #[test]
    fn a_row_does_not_depend_on_its_batch_nor_on_the_vector_width() {
        use rand::{Rng, SeedableRng};
        // 40 outputs: two tiles of 16 and 8 left over; 37 rows: 6 tiles of 6 and one left over.
        let w = random_weights(&[40, 32], 7);
        let d = &w.hidden[0];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let rows = 37;
        let x: Vec<f32> = (0..rows * d.d_in)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    rng.random_range(-3.0..3.0)
                }
            })
            .collect();
        let mut batch = Vec::new();
        d.forward(&x, rows, &mut batch);
        // The definition, one scalar product at a time, summed in input order.
        for (r, xr) in x.chunks_exact(d.d_in).enumerate() {
            let mut one = Vec::new();
            d.forward(xr, 1, &mut one);
            assert_eq!(one[..], batch[r * d.d_out..(r + 1) * d.d_out]);
            for (j, got) in one.iter().enumerate() {
                let mut y = d.b[j];
                for (i, xi) in xr.iter().enumerate() {
                    if *xi != 0.0 {
                        y = xi.mul_add(d.w[i * d.d_out + j], y);
                    }
                }
                assert_eq!(y.to_bits(), got.to_bits(), "row {r}, output {j}");
            }
        }
        // And through the whole network.
        let xs: Vec<f32> = (0..3 * N_FEATURES).map(|i| (i % 11) as f32 - 4.0).collect();
        let all = w.raw(&xs, 3);
        for r in 0..3 {
            assert_eq!(
                w.raw(&xs[r * N_FEATURES..(r + 1) * N_FEATURES], 1)[..],
                all[r * 7..(r + 1) * 7]
            );
        }
    }

    #[test]
    fn the_vector_exponential_is_libm_s_within_two_ulp_and_the_same_on_every_path() {
        // Every 1/64 from -87 to 88, and the ends of the clamp.
        let mut worst = 0f64;
        for i in 0..=(175 * 64) {
            let x = -87.0 + i as f32 / 64.0;
            let want = (x as f64).exp();
            let got = exp_f32(x) as f64;
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 2.4e-7, "relative error {worst:e}");
        assert_eq!(exp_f32(-200.0), exp_f32(-87.0));
        assert_eq!(exp_f32(200.0), exp_f32(88.0));
        assert_eq!(exp_f32(0.0), 1.0);
        // SiLU on the vector path (when the CPU has one) gives the scalar function's bits.
        let mut v: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.37).collect();
        let want: Vec<u32> = v.iter().map(|x| silu(*x).to_bits()).collect();
        silu_all(&mut v);
        assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want);
        assert!((silu(1.0) - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-7);
        assert!(silu(-150.0).abs() < 1e-30 && silu(150.0) == 150.0);
    }

    #[test]
    fn safetensors_round_trip() {
        let w = random_weights(&[16, 8], 1);
        let back = Weights::from_bytes(&w.to_bytes()).unwrap();
        assert_eq!(back, w);
        // Both rate-only regressors, the tonic one alone too.
        let b = crate::baseline::RateBaseline {
            edges: vec![1.0, 2.0],
            centre: vec![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            sd: vec![[0.5, 0.5]; 3],
            range: [0.5, 2.5],
        };
        for (all, tonic) in [(Some(b.clone()), Some(b.clone())), (None, Some(b))] {
            let with = Weights {
                rate_baseline: all,
                tonic_rate_baseline: tonic,
                irregular_bound: None,
                noise_input: false,
                ..w.clone()
            };
            assert_eq!(Weights::from_bytes(&with.to_bytes()).unwrap(), with);
        }
        // The bound of irregular patterns: kept when present, refused when negative.
        let with = Weights {
            irregular_bound: Some(0.8),
            ..w.clone()
        };
        let bytes = with.to_bytes();
        assert_eq!(Weights::from_bytes(&bytes).unwrap(), with);
        assert!(!String::from_utf8_lossy(&w.to_bytes()).contains("irregular_bound"));
        let negative = Weights {
            irregular_bound: Some(-0.8),
            ..w.clone()
        };
        let e = Weights::from_bytes(&negative.to_bytes()).unwrap_err();
        assert!(e.to_string().contains("irregular_bound"), "{e}");
        assert_eq!(w.n_params(), N_FEATURES * 16 + 16 + 16 * 8 + 8 + 8 * 7 + 7);
        // The resolution is written only when set, so files without it read as 0.
        assert!(!String::from_utf8_lossy(&w.to_bytes()).contains("resolution_ms"));
        let r = Weights {
            resolution_ms: 0.05,
            ..w
        };
        let bytes = r.to_bytes();
        assert!(String::from_utf8_lossy(&bytes).contains(r#""resolution_ms":"0.05""#));
        assert_eq!(Weights::from_bytes(&bytes).unwrap(), r);
        let at = bytes
            .windows(6)
            .position(|w| w == br#""0.05""#)
            .expect("the value in the header");
        let mut bad = bytes.clone();
        bad[at..at + 6].copy_from_slice(br#""-1.0""#);
        let e = Weights::from_bytes(&bad).unwrap_err();
        assert!(e.to_string().contains("resolution_ms"), "{e}");
    }

    #[test]
    fn loading_checks_shapes_and_metadata() {
        let mut w = random_weights(&[16], 1);
        w.x_mean.pop();
        w.x_sd.pop();
        let e = Weights::from_bytes(&w.to_bytes()).unwrap_err();
        assert!(e.to_string().contains("x_mean"), "{e}");
        assert!(e.to_string().contains(&format!("[{N_FEATURES}]")), "{e}");

        let mut w = random_weights(&[16], 1);
        w.head.d_in = 15;
        w.head.w.truncate(15 * 7);
        let e = Weights::from_bytes(&w.to_bytes()).unwrap_err();
        assert!(e.to_string().contains("head.weight"), "{e}");

        let e = Weights::from_bytes(b"not a file").unwrap_err();
        assert!(matches!(e, WeightsError::NotSafetensors(_)), "{e}");

        let mut w = random_weights(&[16], 1);
        w.temperature[0][1] = -1.0;
        assert_eq!(
            Weights::from_bytes(&w.to_bytes()).unwrap_err(),
            WeightsError::Value("temperature".into())
        );

        // Weights that read the noise amplitude have two more inputs; the key says so, and nothing else.
        let mut w = random_weights(&[16], 1);
        w.noise_input = true;
        let e = Weights::from_bytes(&w.to_bytes()).unwrap_err();
        assert!(
            e.to_string().contains(&format!("[{}]", N_FEATURES + 2)),
            "{e}"
        );
        let mut w = random_weights(&[16], 1);
        w.notes.insert("noise_input".into(), "yes".into());
        assert!(matches!(
            Weights::from_bytes(&w.to_bytes()).unwrap_err(),
            WeightsError::Metadata {
                key: "noise_input",
                ..
            }
        ));
    }

    #[test]
    fn the_noise_inputs_follow_the_features_and_change_only_their_weights_reading() {
        let plain = random_weights(&[16], 3);
        let mut w = plain.clone();
        w.noise_input = true;
        w.x_mean.extend([0.5, 0.1]);
        w.x_sd.extend([0.5, 0.2]);
        let h = &mut w.hidden[0];
        let mut rows: Vec<f32> = h.w.clone();
        rows.extend((0..2 * h.d_out).map(|i| (i % 5) as f32 * 0.1 - 0.2));
        h.w = rows;
        h.d_in += 2;
        let back = Weights::from_bytes(&w.to_bytes()).unwrap();
        assert_eq!(back, w);
        let x: Vec<f32> = (0..2 * N_FEATURES).map(|i| (i % 7) as f32 * 0.3).collect();
        // Not told: the features, then (0 - 0.5) / 0.5 and (0 - 0.1) / 0.2; told sigma 4: 1 and 0.4, standardised.
        let untold = w.raw(&x, 2);
        let told = w.raw_told(&x, 2, Some(4.0));
        assert_ne!(untold, told);
        let each = w.raw_each(&x, [None, Some(4.0)].into_iter());
        assert_eq!(each[..7], untold[..7]);
        assert_eq!(each[7..], told[7..]);
        let first = |inputs: &[f32]| {
            let mut out = Vec::new();
            w.hidden[0].forward(inputs, 1, &mut out);
            out
        };
        let standardised = |extra: [f32; 2]| -> Vec<f32> {
            x[..N_FEATURES]
                .iter()
                .chain(&extra)
                .zip(&w.x_mean)
                .zip(&w.x_sd)
                .map(|((v, m), s)| (v - m) / s)
                .collect()
        };
        assert_eq!(noise_inputs(Some(4.0)), [1.0, 0.4]);
        assert_eq!(noise_inputs(None), [0.0, 0.0]);
        let mut h = first(&standardised([1.0, 0.4]));
        silu_all(&mut h);
        let mut out = Vec::new();
        w.head.forward(&h, 1, &mut out);
        assert_eq!(out[..], told[..7]);
        // Weights without the noise inputs ignore an amplitude.
        assert_eq!(plain.raw_told(&x, 2, Some(4.0)), plain.raw(&x, 2));
    }

    #[test]
    fn probabilities_sum_to_one_and_sd_is_positive() {
        let w = random_weights(&[16, 16], 2);
        let x: Vec<f32> = (0..3 * N_FEATURES).map(|i| (i % 7) as f32 * 0.3).collect();
        for o in w.forward(&x, 3) {
            assert!((o.p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(o.sd_g_s > 0.0 && o.sd_g_u > 0.0);
        }
    }
}
