use nnlab_agents::dqn::*;
use nnlab_agents::replay_buffer::ReplayBuffer;
use rand::SeedableRng;
use std::time::Instant;
use tch::nn::Module;
fn main() {
    tch::set_num_threads(1);
    let mut agent = Dqn::new(DqnConfig::default(), tch::Device::Cpu).unwrap();
    let mut rb = ReplayBuffer::new(10000, 4);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for i in 0..10000 { let v = i as f32 * 1e-4; rb.add(&[v;4], &[v;4], (i%2) as i64, 1.0, false); }
    let n = 3000;
    let t = Instant::now(); for _ in 0..n { let _ = rb.sample(128, &mut rng, tch::Device::Cpu); } println!("sample {:.1} us", t.elapsed().as_secs_f64()*1e6/n as f64);
    let b = rb.sample(128, &mut rng, tch::Device::Cpu);
    let t = Instant::now(); for _ in 0..n { let _ = agent.update(&b); } println!("update {:.1} us", t.elapsed().as_secs_f64()*1e6/n as f64);
    let obs = [0.01f32, 0.02, 0.03, 0.04];
    let t = Instant::now(); for _ in 0..n*10 { let _ = agent.act_greedy(&obs); } println!("act {:.1} us", t.elapsed().as_secs_f64()*1e6/(n*10) as f64);
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let q = nnlab_agents::network::QNetwork::new(&vs.root(), 4, 2, &[120, 84], false);
    let mut opt = tch::nn::OptimizerConfig::build(tch::nn::Adam::default(), &vs, 1e-3).unwrap();
    let x = tch::Tensor::randn([128, 4], (tch::Kind::Float, tch::Device::Cpu));
    let t = Instant::now(); for _ in 0..n { let _ = tch::no_grad(|| q.forward(&x)); } println!("fwd nograd {:.1} us", t.elapsed().as_secs_f64()*1e6/n as f64);
    let t = Instant::now(); for _ in 0..n { let l = q.forward(&x).mean(tch::Kind::Float); opt.zero_grad(); l.backward(); } println!("fwd+bwd {:.1} us", t.elapsed().as_secs_f64()*1e6/n as f64);
    let t = Instant::now(); for _ in 0..n { opt.step(); } println!("adam step {:.1} us", t.elapsed().as_secs_f64()*1e6/n as f64);
    let t = Instant::now(); for _ in 0..n { opt.zero_grad(); } println!("zero_grad {:.1} us", t.elapsed().as_secs_f64()*1e6/n as f64);
    let t = Instant::now(); for _ in 0..n*10 { let _ = &x + 1.0; } println!("one add op {:.2} us", t.elapsed().as_secs_f64()*1e6/(n*10) as f64);
}
