//! Times MLP training steps (forward, backward, AdamW) on the Flex backend (the one spikepop-predict builds;
//! NdArray was measured 1.3-2.2x slower here and is not built). `THREADS=N` sets the rayon pool.
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

#[derive(Module, Debug)]
struct Mlp {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    out: Linear,
}

impl Mlp {
    fn new(d_in: usize, h: usize, d_out: usize, dev: &Device) -> Self {
        Mlp {
            l1: LinearConfig::new(d_in, h).init(dev),
            l2: LinearConfig::new(h, h).init(dev),
            l3: LinearConfig::new(h, h).init(dev),
            out: LinearConfig::new(h, d_out).init(dev),
        }
    }
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = relu(self.l1.forward(x));
        let x = relu(self.l2.forward(x));
        let x = relu(self.l3.forward(x));
        self.out.forward(x)
    }
}

fn bench(name: &str, dev: Device, batch: usize, h: usize) {
    let dev = dev.autodiff();
    dev.seed(1);
    let mut model = Mlp::new(42, h, 7, &dev);
    let mut opt = AdamWConfig::new().init();
    let x = Tensor::<2>::random([batch, 42], Distribution::Normal(0.0, 1.0), &dev);
    let y = Tensor::<2>::random([batch, 7], Distribution::Normal(0.0, 1.0), &dev);
    let steps = 200;
    let mut last = 0f32;
    let t = Instant::now();
    for _ in 0..steps {
        let out = model.forward(x.clone());
        let loss = (out - y.clone()).powf_scalar(2.0).mean();
        last = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(1e-3, model, grads);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{name}: batch {batch} hidden {h}: {:.3} ms/step, {:.0} samples/s (loss {last:.4})",
        1e3 * dt / steps as f64,
        (steps * batch) as f64 / dt
    );
}

fn main() {
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .ok();
    println!("rayon threads: {threads}");
    for &(batch, h) in &[(256usize, 128usize), (1024, 128), (256, 256), (1024, 256)] {
        bench("flex", Device::flex(), batch, h);
    }
}
