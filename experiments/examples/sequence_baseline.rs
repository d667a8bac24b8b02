//! The sequence baseline of issue 6: a small dilated 1-D convolutional network over the log inter-spike
//! intervals, trained and evaluated like the shipped feature MLP so that the two can be compared on the same
//! validation split, test sets and CPU budget (results in `notes/predictor-log.md`).
//!
//! - Input: the first 256 ISIs of the train (a random window of 256 when longer, in training), 5 channels per
//!   ISI: the log ISI standardised over the training set; the log ISI minus the train's mean log ISI (scaled);
//!   the same difference in signed log magnitude, `sign(d) ln(1 + |d| / 1e-5) / ln(1e5)` (the slow drift of
//!   tonic trains is 1e-4 to 1e-3); the signed log magnitude of the change from the previous log ISI; the
//!   position in the train, in [-1, 1]. Padded to the longest train of a batch, with a mask.
//! - Network: Conv1d(5 -> C, kernel 5), then three residual Conv1d(C -> C, kernel 5) blocks with dilations
//!   2, 4, 8 (receptive field 61 ISIs), SiLU, the padding masked after every layer; masked mean and max
//!   pooling over time, plus the standardised log ISI count; 2 x (Linear 128, SiLU); Linear to the same 7
//!   outputs as the MLP (`mu_s, mu_u, r_s, r_u`, 3 label logits).
//! - Loss, optimiser and calibration as `spikepop train`: Gaussian NLL of the standardised (g_s, g_u) with
//!   `sd = softplus(r) + 0.01`, + 0.5 x label cross-entropy; AdamW (weight decay 1e-4), gradient norm clipped
//!   at 5, batch 256, learning rate 2e-3 with one epoch of warm-up and a cosine decay to 2e-5 over the run
//!   (over the wall-clock budget, or over `--epochs`); the same augmentations (`Augment::default`); the epoch
//!   with the lowest validation loss is kept and its sd calibrated on validation (`train::fit_temperatures`).
//! - Data: `--train` paths (CSV files or folders; the k-th file's targets are offset by `k << 48` as in
//!   `spikepop train`), 10% of the targets held out with `data::split_by_group` (same seed, same split as
//!   `spikepop train`); every `--test` path is evaluated with `eval::report`, next to the built-in MLP.
//! - Speed: trains per second of the trained CNN and of the built-in MLP on the first test set, one thread
//!   and the whole rayon pool.
//!
//! ```sh
//! cargo run --release --manifest-path experiments/Cargo.toml --example sequence_baseline -- \
//!     --train data/stg-train --train data/stg-train-noise5 --test data/stg-test --test data/stg-test-noise5 \
//!     --minutes 5 [--epochs N] [--channels 32] [--seed 0]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig1d};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_softmax, silu, softplus};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use spikepop_predict::augment::Augment;
use spikepop_predict::data::{Sample, csv_files, read_csv, split_by_group};
use spikepop_predict::features::{LABELS, features, label_index};
use spikepop_predict::net::{N_GAUSS, decode};
use spikepop_predict::train::fit_temperatures;
use spikepop_predict::{Output, Predictor, eval};

/// Most ISIs given to the network.
const MAX_ISI: usize = 256;
/// Input channels per ISI.
const C_IN: usize = 5;
/// Smallest sd in standardised units (as the MLP).
const SD_FLOOR: f32 = 0.01;
/// Weight of the label cross-entropy (as the MLP).
const LABEL_WEIGHT: f64 = 0.5;
/// Outputs of the head.
const D_OUT: usize = N_GAUSS + LABELS.len();

/// Command-line settings.
struct Args {
    train: Vec<PathBuf>,
    test: Vec<PathBuf>,
    minutes: f64,
    epochs: Option<usize>,
    channels: usize,
    seed: u64,
    batch: usize,
    lr: f64,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        train: Vec::new(),
        test: Vec::new(),
        minutes: 5.0,
        epochs: None,
        channels: 32,
        seed: 0,
        batch: 256,
        lr: 2e-3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--train" => a.train.push(value()?.into()),
            "--test" => a.test.push(value()?.into()),
            "--minutes" => a.minutes = value()?.parse()?,
            "--epochs" => a.epochs = Some(value()?.parse()?),
            "--channels" => a.channels = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--batch" => a.batch = value()?.parse()?,
            "--lr" => a.lr = value()?.parse()?,
            _ => bail!(
                "unknown argument {flag}; expected --train, --test, --minutes, --epochs, --channels, --seed, --batch, --lr"
            ),
        }
    }
    if a.train.is_empty() || a.test.is_empty() {
        bail!("give at least one --train and one --test path");
    }
    if a.epochs == Some(0) || a.minutes <= 0.0 || a.channels == 0 || a.batch == 0 {
        bail!("--epochs, --minutes, --channels and --batch must be > 0");
    }
    Ok(a)
}

/// Every sample of the CSV files under `paths`; the k-th file's targets get `k << 48` added to their group (as
/// `spikepop train`), so that equal target numbers of two data sets stay two groups.
fn read_all(paths: &[PathBuf]) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    let mut k = 0u64;
    for p in paths {
        for f in csv_files(p)? {
            out.extend(read_csv(&f)?.into_iter().map(|mut s| {
                s.group += k << 48;
                s
            }));
            k += 1;
        }
    }
    Ok(out)
}

/// Input standardisation, from the clean training trains.
#[derive(Clone, Copy, Debug)]
struct Norm {
    /// Mean and sd of the log ISIs (ln ms).
    log_isi: (f64, f64),
    /// sd of the log ISIs minus their train's mean.
    centred_sd: f64,
    /// Mean and sd of ln(ISI count).
    log_n: (f64, f64),
}

/// Log ISIs of a train (ISIs floored at 1 us, as the features), at most [`MAX_ISI`] from `start`.
fn log_isis(times: &[f64], start: usize) -> Vec<f64> {
    times
        .windows(2)
        .skip(start)
        .take(MAX_ISI)
        .map(|w| (w[1] - w[0]).max(1e-3).ln())
        .collect()
}

fn mean_sd(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = v.clone().count().max(1) as f64;
    let m = v.clone().sum::<f64>() / n;
    let var = v.map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt().max(1e-3))
}

impl Norm {
    fn fit(trains: &[&[f64]]) -> Norm {
        let logs: Vec<Vec<f64>> = trains.iter().map(|t| log_isis(t, 0)).collect();
        let all = logs.iter().flatten().copied();
        let centred = logs.iter().flat_map(|l| {
            let m = l.iter().sum::<f64>() / l.len().max(1) as f64;
            l.iter().map(move |x| x - m)
        });
        Norm {
            log_isi: mean_sd(all),
            centred_sd: mean_sd(centred).1,
            log_n: mean_sd(logs.iter().map(|l| (l.len() as f64).ln())),
        }
    }
}

/// Signed log magnitude: resolves differences from 1e-5 to 1 on one scale.
fn slog(d: f64) -> f64 {
    d.signum() * (d.abs() / 1e-5).ln_1p() / 1e5f64.ln()
}

/// One network input: `[C_IN][len]` channel-major, and the standardised ln(ISI count).
struct Seq {
    x: Vec<f32>,
    len: usize,
    log_n: f32,
}

/// The input of a train from its `start`-th ISI; `None` with fewer than 2 ISIs.
fn encode(times: &[f64], start: usize, norm: &Norm) -> Option<Seq> {
    let l = log_isis(times, start);
    let len = l.len();
    if len < 2 {
        return None;
    }
    let m = l.iter().sum::<f64>() / len as f64;
    let mut x = vec![0f32; C_IN * len];
    for (i, &v) in l.iter().enumerate() {
        let d = v - m;
        x[i] = ((v - norm.log_isi.0) / norm.log_isi.1) as f32;
        x[len + i] = (d / norm.centred_sd) as f32;
        x[2 * len + i] = slog(d) as f32;
        x[3 * len + i] = if i == 0 {
            0.0
        } else {
            slog(v - l[i - 1]) as f32
        };
        x[4 * len + i] = (2.0 * i as f64 / (len - 1) as f64 - 1.0) as f32;
    }
    Some(Seq {
        x,
        len,
        log_n: (((len as f64).ln() - norm.log_n.0) / norm.log_n.1) as f32,
    })
}

/// Input tensors of a batch: `x [B, C_IN, L]`, mask `[B, 1, L]`, `ln n [B, 1]` (L = the longest).
fn batch_tensors(seqs: &[&Seq], dev: &Device) -> (Tensor<3>, Tensor<3>, Tensor<2>) {
    let b = seqs.len();
    let l = seqs.iter().map(|s| s.len).max().unwrap_or(1);
    let mut x = vec![0f32; b * C_IN * l];
    let mut m = vec![0f32; b * l];
    for (r, s) in seqs.iter().enumerate() {
        for c in 0..C_IN {
            let dst = (r * C_IN + c) * l;
            x[dst..dst + s.len].copy_from_slice(&s.x[c * s.len..(c + 1) * s.len]);
        }
        m[r * l..r * l + s.len].fill(1.0);
    }
    let n: Vec<f32> = seqs.iter().map(|s| s.log_n).collect();
    (
        Tensor::<3>::from_data(TensorData::new(x, [b, C_IN, l]), dev),
        Tensor::<3>::from_data(TensorData::new(m, [b, 1, l]), dev),
        Tensor::<2>::from_data(TensorData::new(n, [b, 1]), dev),
    )
}

/// The network (see the top of the file).
#[derive(Module, Debug)]
struct Cnn {
    stem: Conv1d,
    blocks: Vec<Conv1d>,
    hidden: Vec<Linear>,
    head: Linear,
}

impl Cnn {
    fn new(c: usize, dev: &Device) -> Cnn {
        let conv = |c_in: usize, dilation: usize| {
            Conv1dConfig::new(c_in, c, 5)
                .with_dilation(dilation)
                .with_padding(PaddingConfig1d::Explicit(2 * dilation, 2 * dilation))
                .init(dev)
        };
        let mut head = LinearConfig::new(128, D_OUT).init(dev);
        // softplus(0.5413) = 1: start with sd about 1 (the targets' spread), as the MLP.
        let mut bias = vec![0f32; D_OUT];
        bias[2] = 0.5413;
        bias[3] = 0.5413;
        head.bias = Some(Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(bias, [D_OUT]),
            dev,
        )));
        Cnn {
            stem: conv(C_IN, 1),
            blocks: [2, 4, 8].iter().map(|&d| conv(c, d)).collect(),
            hidden: vec![
                LinearConfig::new(2 * c + 1, 128).init(dev),
                LinearConfig::new(128, 128).init(dev),
            ],
            head,
        }
    }

    /// Raw head outputs `[B, 7]`.
    fn forward(&self, x: Tensor<3>, mask: Tensor<3>, log_n: Tensor<2>) -> Tensor<2> {
        let h = silu(self.stem.forward(x));
        let [b, c, l] = h.dims();
        let m = mask.expand([b, c, l]);
        let mut h = h * m.clone();
        for conv in &self.blocks {
            h = (h.clone() + silu(conv.forward(h))) * m.clone();
        }
        let count = m.clone().sum_dim(2).reshape([b, c]);
        let mean = h.clone().sum_dim(2).reshape([b, c]) / count;
        let max = (h + m.sub_scalar(1.0).mul_scalar(1e4))
            .max_dim(2)
            .reshape([b, c]);
        let mut z = Tensor::cat(vec![mean, max, log_n], 1);
        for layer in &self.hidden {
            z = silu(layer.forward(z));
        }
        self.head.forward(z)
    }
}

/// Raw outputs (row-major `[n][7]`) of a plain-device network for `seqs`, in batches of similar lengths;
/// batches run in parallel on the rayon pool.
fn raw_outputs(model: &Cnn, seqs: &[&Seq], dev: &Device) -> Vec<f32> {
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| seqs[i].len);
    let parts: Vec<(Vec<usize>, Vec<f32>)> = order
        .par_chunks(256)
        .map(|idx| {
            let batch: Vec<&Seq> = idx.iter().map(|&i| seqs[i]).collect();
            let (x, m, n) = batch_tensors(&batch, dev);
            let out = model.forward(x, m, n).into_data().try_to_vec::<f32>();
            (idx.to_vec(), out.expect("f32 outputs"))
        })
        .collect();
    let mut raw = vec![0f32; seqs.len() * D_OUT];
    for (idx, out) in parts {
        for (k, &i) in idx.iter().enumerate() {
            raw[i * D_OUT..(i + 1) * D_OUT].copy_from_slice(&out[k * D_OUT..(k + 1) * D_OUT]);
        }
    }
    raw
}

/// A labelled, encoded training or validation train.
struct Item {
    seq: Seq,
    y: [f32; 2],
    label: usize,
}

/// Mean validation loss (Gaussian NLL without the constant + 0.5 x cross-entropy), as `spikepop train`.
fn val_loss(raw: &[f32], items: &[Item], y_mean: [f32; 2], y_sd: [f32; 2]) -> f64 {
    let mut total = 0.0;
    for (o, it) in raw.chunks_exact(D_OUT).zip(items) {
        for d in 0..2 {
            let y = ((it.y[d] - y_mean[d]) / y_sd[d]) as f64;
            let r = o[2 + d] as f64;
            let sd = if r > 20.0 { r } else { r.exp().ln_1p() } + SD_FLOOR as f64;
            let z = (y - o[d] as f64) / sd;
            total += 0.5 * z * z + sd.ln();
        }
        let l = &o[N_GAUSS..];
        let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = max + l.iter().map(|v| (*v as f64 - max).exp()).sum::<f64>().ln();
        total += LABEL_WEIGHT * (lse - l[it.label] as f64);
    }
    total / items.len().max(1) as f64
}

/// The clean label index of each sample (`None` if silent).
fn clean_labels(samples: &[Sample]) -> Vec<Option<usize>> {
    samples
        .par_iter()
        .map(|s| features(&s.times_ms).and_then(|(_, l)| label_index(l)))
        .collect()
}

/// The trained network and what is needed to turn its raw outputs into predictions.
struct Trained {
    model: Cnn,
    norm: Norm,
    y_mean: [f32; 2],
    y_sd: [f32; 2],
    temperature: Vec<[f32; 2]>,
}

impl Trained {
    fn outputs(&self, seqs: &[&Seq], dev: &Device) -> Vec<Output> {
        raw_outputs(&self.model, seqs, dev)
            .chunks_exact(D_OUT)
            .map(|o| decode(o, self.y_mean, self.y_sd, SD_FLOOR, &self.temperature))
            .collect()
    }
}

fn train(args: &Args, train_set: &[Sample], val_set: &[Sample]) -> Result<Trained> {
    let labels = clean_labels(train_set);
    let clean: Vec<(&Sample, usize)> = train_set
        .iter()
        .zip(&labels)
        .filter_map(|(s, l)| Some((s, (*l)?)))
        .collect();
    let trains: Vec<&[f64]> = clean.iter().map(|(s, _)| s.times_ms.as_slice()).collect();
    let norm = Norm::fit(&trains);
    let (gs, gu) = (
        mean_sd(clean.iter().map(|(s, _)| s.g_s)),
        mean_sd(clean.iter().map(|(s, _)| s.g_u)),
    );
    let (y_mean, y_sd) = ([gs.0 as f32, gu.0 as f32], [gs.1 as f32, gu.1 as f32]);
    let val: Vec<Item> = val_set
        .iter()
        .zip(clean_labels(val_set))
        .filter_map(|(s, l)| {
            Some(Item {
                seq: encode(&s.times_ms, 0, &norm)?,
                y: [s.g_s as f32, s.g_u as f32],
                label: l?,
            })
        })
        .collect();
    let val_seqs: Vec<&Seq> = val.iter().map(|v| &v.seq).collect();
    println!(
        "training on {} trains, validating on {}; input norm {norm:?}",
        clean.len(),
        val.len()
    );

    let dev = Device::flex().autodiff();
    let plain = Device::flex();
    dev.seed(args.seed);
    let mut model = Cnn::new(args.channels, &dev);
    println!(
        "CNN: {} channels, {} parameters",
        args.channels,
        model.num_params()
    );
    let mut optim: ModuleOptimizer = AdamWConfig::new()
        .with_weight_decay(1e-4)
        .with_epsilon(1e-8)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(5.0)))
        .init();
    let aug = Augment::default();
    let budget_s = args.minutes * 60.0;
    let n_batches = clean.len().div_ceil(args.batch);
    let c = LABELS.len();
    let t0 = Instant::now();
    let mut best: Option<(f64, f64, Cnn)> = None;
    let mut step = 0usize;
    let mut epoch = 0usize;
    let mut done = false;
    while !done {
        // Fresh augmentations (the library's seeding), then a random window of MAX_ISI ISIs when longer.
        let set: Vec<Item> = clean
            .par_iter()
            .enumerate()
            .filter_map(|(i, (s, label))| {
                let stream = ((epoch as u64) << 40) | i as u64;
                let t = aug.apply(&s.times_ms, args.seed ^ 0xA6_6E47, stream);
                let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5E0_0000);
                rng.set_stream(stream);
                let start = rng.random_range(0..=t.len().saturating_sub(MAX_ISI + 1));
                Some(Item {
                    seq: encode(&t, start, &norm)?,
                    y: [s.g_s as f32, s.g_u as f32],
                    label: *label,
                })
            })
            .collect();
        // Batches of similar lengths (less padding): shuffle, sort groups of 16 batches by length, shuffle
        // the batches.
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        rng.set_stream(0xB47C_0000 + epoch as u64);
        let mut order: Vec<usize> = (0..set.len()).collect();
        order.shuffle(&mut rng);
        for g in order.chunks_mut(16 * args.batch) {
            g.sort_by_key(|&i| set[i].seq.len);
        }
        let mut batches: Vec<&[usize]> = order.chunks(args.batch).collect();
        batches.shuffle(&mut rng);
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        let mut batches_done = 0usize;
        for idx in batches {
            let items: Vec<&Item> = idx.iter().map(|&i| &set[i]).collect();
            let seqs: Vec<&Seq> = items.iter().map(|it| &it.seq).collect();
            let (x, m, n) = batch_tensors(&seqs, &dev);
            let b = items.len();
            let mut ys = Vec::with_capacity(2 * b);
            let mut hot = vec![0f32; b * c];
            for (r, it) in items.iter().enumerate() {
                for d in 0..2 {
                    ys.push((it.y[d] - y_mean[d]) / y_sd[d]);
                }
                hot[r * c + it.label] = 1.0;
            }
            let y = Tensor::<2>::from_data(TensorData::new(ys, [b, 2]), &dev);
            let hot = Tensor::<2>::from_data(TensorData::new(hot, [b, c]), &dev);
            let out = model.forward(x, m, n);
            let mu = out.clone().narrow(1, 0, 2);
            let sd = softplus(out.clone().narrow(1, 2, 2), 1.0).add_scalar(SD_FLOOR);
            let logits = out.narrow(1, N_GAUSS, c);
            let z = (y - mu) / sd.clone();
            let nll = (z.powi_scalar(2).mul_scalar(0.5) + sd.log())
                .sum_dim(1)
                .mean();
            let ce = (log_softmax(logits, 1) * hot).sum_dim(1).mean().neg();
            let loss = nll + ce.mul_scalar(LABEL_WEIGHT);
            loss_sum += loss.clone().into_scalar::<f32>() as f64 * b as f64;
            seen += b;
            // One epoch of linear warm-up, then a cosine decay to lr / 100 over the epochs or the budget.
            let elapsed = t0.elapsed().as_secs_f64();
            let p = match args.epochs {
                Some(e) => step as f64 / (e * n_batches) as f64,
                None => elapsed / budget_s,
            };
            let lr = if step < n_batches {
                args.lr * (step + 1) as f64 / n_batches as f64
            } else {
                args.lr * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * p.min(1.0)).cos()))
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            step += 1;
            batches_done += 1;
            if args.epochs.is_none() && t0.elapsed().as_secs_f64() >= budget_s {
                done = true;
                break;
            }
        }
        epoch += 1;
        if args.epochs.is_some_and(|e| epoch >= e) {
            done = true;
        }
        let epochs_run = (epoch - 1) as f64 + batches_done as f64 / n_batches as f64;
        let valid = model.valid();
        let vl = val_loss(&raw_outputs(&valid, &val_seqs, &plain), &val, y_mean, y_sd);
        println!(
            "epoch {epochs_run:.2} ({:.0} s): train loss {:.4}, val loss {vl:.4}",
            t0.elapsed().as_secs_f64(),
            loss_sum / seen.max(1) as f64
        );
        if best.as_ref().is_none_or(|b| vl < b.0) {
            best = Some((vl, epochs_run, valid));
        }
    }
    let train_s = t0.elapsed().as_secs_f64();
    let (vl, best_epoch, model) = best.context("no epoch was run")?;
    println!(
        "trained {:.2} epochs ({step} steps) in {train_s:.0} s wall ({:.1} s per epoch); kept epoch {best_epoch:.2} (val loss {vl:.4})",
        step as f64 / n_batches as f64,
        train_s * n_batches as f64 / step.max(1) as f64
    );
    let mut trained = Trained {
        model,
        norm,
        y_mean,
        y_sd,
        temperature: vec![[1.0, 1.0]; LABELS.len()],
    };
    let outs = trained.outputs(&val_seqs, &plain);
    let ys: Vec<[f32; 2]> = val.iter().map(|v| v.y).collect();
    trained.temperature = fit_temperatures(&outs, &ys);
    println!(
        "calibration temperatures [label][g_s, g_u]: {:?}",
        trained.temperature
    );
    Ok(trained)
}

/// The CNN's table on a test set (same silent rule and true labels as `spikepop evaluate`).
fn evaluate_cnn(trained: &Trained, test: &[Sample], dev: &Device) -> eval::Report {
    let seqs: Vec<Option<(spikepop_spikes::features::Label, Seq)>> = test
        .par_iter()
        .map(|s| {
            let (_, l) = features(&s.times_ms)?;
            Some((l, encode(&s.times_ms, 0, &trained.norm)?))
        })
        .collect();
    let present: Vec<&Seq> = seqs.iter().flatten().map(|(_, q)| q).collect();
    let mut outs = trained.outputs(&present, dev).into_iter();
    eval::report(test.iter().zip(&seqs).map(|(s, q)| {
        let (l, _) = q.as_ref()?;
        Some((
            *l,
            [s.g_s, s.g_u],
            outs.next().expect("one output per train"),
            s.group,
        ))
    }))
}

/// Trains per second of both models on `trains` (encoding included), on the current rayon pool.
fn bench(trained: &Trained, mlp: &Predictor, trains: &[&[f64]], dev: &Device) -> (f64, f64) {
    let run = |f: &dyn Fn() -> usize| {
        f();
        let t = Instant::now();
        let n = f();
        n as f64 / t.elapsed().as_secs_f64()
    };
    let cnn = run(&|| {
        let seqs: Vec<Seq> = trains
            .par_iter()
            .filter_map(|t| encode(t, 0, &trained.norm))
            .collect();
        let refs: Vec<&Seq> = seqs.iter().collect();
        trained.outputs(&refs, dev).len()
    });
    let mlp = run(&|| mlp.predict_many(trains).len());
    (cnn, mlp)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let all = read_all(&args.train)?;
    let (train_set, val_set) = split_by_group(all, 0.1, args.seed);
    let trained = train(&args, &train_set, &val_set)?;
    drop((train_set, val_set));
    let plain = Device::flex();
    let mlp = Predictor::embedded("stg")?;
    println!(
        "MLP (built-in STG weights): {} parameters",
        mlp.weights.n_params()
    );
    let mut bench_trains: Vec<Vec<f64>> = Vec::new();
    for path in &args.test {
        let test = read_all(std::slice::from_ref(path))?;
        println!(
            "\n## {}: CNN\n\n{}",
            path.display(),
            evaluate_cnn(&trained, &test, &plain)
        );
        println!(
            "\n## {}: MLP\n\n{}",
            path.display(),
            eval::evaluate(&mlp, &test)
        );
        if bench_trains.is_empty() {
            bench_trains = test.into_iter().map(|s| s.times_ms).collect();
        }
    }
    let refs: Vec<&[f64]> = bench_trains.iter().map(|t| t.as_slice()).collect();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (c1, m1) = one.install(|| bench(&trained, &mlp, &refs, &plain));
    let (ca, ma) = bench(&trained, &mlp, &refs, &plain);
    println!(
        "\ninference on {} trains of the first test set (trains/s): CNN {c1:.0} (1 thread), {ca:.0} ({} threads); \
         MLP {m1:.0} (1 thread), {ma:.0} ({} threads)",
        refs.len(),
        rayon::current_num_threads(),
        rayon::current_num_threads()
    );
    Ok(())
}
