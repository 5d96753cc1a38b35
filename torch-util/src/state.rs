//! [`TrainState`]: everything a trainer needs to continue exactly where it
//! stopped (weights, optimiser moments, replay memory, random streams,
//! counters), as one safetensors file: arrays as tensors (bit-exact, any
//! size), small host values as JSON in the file's `__metadata__`.
//!
//! Trainers fill it through `put_*` under names of their choosing and read it
//! back with the matching getters; a missing name or a shape that does not
//! match is an error naming it, never a silent default.

use anyhow::{anyhow, bail, Context, Result};
use safetensors::tensor::{Dtype, View};
use serde::{de::DeserializeOwned, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use tch::{Device, Kind, Tensor};

/// One array: its element type, shape and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
struct Array {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Array {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// A trainer's complete state (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainState {
    arrays: BTreeMap<String, Array>,
    host: serde_json::Map<String, serde_json::Value>,
}

/// The key of the CRC-32 of the arrays and host values in the safetensors metadata.
const CHECKSUM_KEY: &str = "nnlab.crc32";

/// The key of the JSON host values in the safetensors metadata.
const HOST_KEY: &str = "nnlab.host";

fn kind_of(dtype: Dtype) -> Result<Kind> {
    Ok(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::U8 => Kind::Uint8,
        d => bail!("unsupported element type {d:?}"),
    })
}

impl TrainState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether anything (an array or a host value) is stored under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.arrays.contains_key(name) || self.host.contains_key(name)
    }

    /// The names of the stored arrays, in order.
    pub fn array_names(&self) -> Vec<String> {
        self.arrays.keys().cloned().collect()
    }

    /// Stores a copy of `tensor` (float, double, int64 or uint8; any device).
    pub fn put_tensor(&mut self, name: &str, tensor: &Tensor) -> Result<()> {
        let t = tensor.detach().to_device(Device::Cpu).contiguous();
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let n = t.numel();
        let (dtype, width) = match t.kind() {
            Kind::Float => (Dtype::F32, 4),
            Kind::Double => (Dtype::F64, 8),
            Kind::Int64 => (Dtype::I64, 8),
            Kind::Uint8 => (Dtype::U8, 1),
            k => bail!("{name}: cannot store a tensor of kind {k:?}"),
        };
        let mut bytes = vec![0u8; n * width];
        t.copy_data_u8(&mut bytes, n);
        self.arrays.insert(name.to_string(), Array { dtype, shape, bytes });
        Ok(())
    }

    /// The stored tensor `name`, on the CPU.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let a = self.arrays.get(name).ok_or_else(|| anyhow!("the checkpoint has no `{name}`"))?;
        let shape: Vec<i64> = a.shape.iter().map(|&d| d as i64).collect();
        Ok(Tensor::from_data_size(&a.bytes, &shape, kind_of(a.dtype)?))
    }

    /// Copies the stored tensor `name` into `dst` (same shape and kind), without recording gradients.
    pub fn copy_into(&self, name: &str, dst: &Tensor) -> Result<()> {
        let src = self.tensor(name)?;
        if src.size() != dst.size() || src.kind() != dst.kind() {
            bail!("the checkpoint's `{name}` is {:?} {:?}, the model's is {:?} {:?}", src.kind(), src.size(), dst.kind(), dst.size());
        }
        tch::no_grad(|| {
            let mut d = dst.shallow_clone();
            d.copy_(&src);
        });
        Ok(())
    }

    /// Stores `values` as a one-dimensional f64 array.
    pub fn put_f64s(&mut self, name: &str, values: &[f64]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.arrays.insert(name.to_string(), Array { dtype: Dtype::F64, shape: vec![values.len()], bytes });
    }

    /// The f64 array `name`.
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        let a = self.arrays.get(name).ok_or_else(|| anyhow!("the checkpoint has no `{name}`"))?;
        if a.dtype != Dtype::F64 || a.shape.len() != 1 {
            bail!("the checkpoint's `{name}` is not a list of f64");
        }
        Ok(a.bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    }

    /// Stores `values` as a one-dimensional f32 array.
    pub fn put_f32s(&mut self, name: &str, values: &[f32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.arrays.insert(name.to_string(), Array { dtype: Dtype::F32, shape: vec![values.len()], bytes });
    }

    /// The f32 array `name`.
    pub fn f32s(&self, name: &str) -> Result<Vec<f32>> {
        let a = self.arrays.get(name).ok_or_else(|| anyhow!("the checkpoint has no `{name}`"))?;
        if a.dtype != Dtype::F32 || a.shape.len() != 1 {
            bail!("the checkpoint's `{name}` is not a list of f32");
        }
        Ok(a.bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }

    /// Stores a small host value (counters, random streams, flags) as JSON.
    /// Floats must be finite (JSON has no NaN); keep float arrays in `put_f64s`.
    pub fn put<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<()> {
        let v = serde_json::to_value(value).with_context(|| format!("storing `{name}`"))?;
        self.host.insert(name.to_string(), v);
        Ok(())
    }

    /// The host value `name`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let v = self.host.get(name).ok_or_else(|| anyhow!("the checkpoint has no `{name}`"))?;
        serde_json::from_value(v.clone()).with_context(|| format!("reading the checkpoint's `{name}`"))
    }

    /// Stores every variable of `vs` (trainable or not, such as batch-norm
    /// statistics) under `prefix.<name>`.
    pub fn put_var_store(&mut self, prefix: &str, vs: &tch::nn::VarStore) -> Result<()> {
        for (name, t) in vs.variables() {
            self.put_tensor(&format!("{prefix}.{name}"), &t)?;
        }
        Ok(())
    }

    /// Copies what [`TrainState::put_var_store`] stored into the variables of `vs`.
    pub fn copy_into_var_store(&self, prefix: &str, vs: &tch::nn::VarStore) -> Result<()> {
        let vars = vs.variables();
        let stored = self.arrays.keys().filter(|k| k.strip_prefix(prefix).is_some_and(|r| r.starts_with('.'))).count();
        if stored != vars.len() {
            bail!("the checkpoint has {stored} `{prefix}` variables, the model {}", vars.len());
        }
        for (name, t) in vars {
            self.copy_into(&format!("{prefix}.{name}"), &t)?;
        }
        Ok(())
    }

    /// Stores every entry of `other` under `prefix.` (a part's state inside a whole).
    pub fn put_part(&mut self, prefix: &str, other: TrainState) {
        for (k, a) in other.arrays {
            self.arrays.insert(format!("{prefix}.{k}"), a);
        }
        for (k, v) in other.host {
            self.host.insert(format!("{prefix}.{k}"), v);
        }
    }

    /// The entries stored under `prefix.` by [`TrainState::put_part`].
    pub fn part(&self, prefix: &str) -> TrainState {
        let p = format!("{prefix}.");
        let arrays = self.arrays.iter().filter_map(|(k, a)| k.strip_prefix(&p).map(|k| (k.to_string(), a.clone()))).collect();
        let host = self.host.iter().filter_map(|(k, v)| k.strip_prefix(&p).map(|k| (k.to_string(), v.clone()))).collect();
        TrainState { arrays, host }
    }

    /// The safetensors bytes (arrays sorted by name, so equal states give equal bytes).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let host = serde_json::to_string(&self.host).context("encoding the checkpoint's host values")?;
        let crc = self.checksum(&host).to_string();
        let metadata: HashMap<String, String> = [(HOST_KEY.to_string(), host), (CHECKSUM_KEY.to_string(), crc)].into();
        let bytes = safetensors::tensor::serialize(self.arrays.iter().map(|(k, a)| (k.as_str(), a)), &Some(metadata))
            .map_err(|e| anyhow!("encoding the checkpoint: {e:?}"))?;
        sorted_header(bytes)
    }

    /// Reads what [`TrainState::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|_| anyhow!("not a checkpoint written by nnlab (unreadable safetensors)"))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|_| anyhow!("not a checkpoint written by nnlab (unreadable header)"))?;
        let host = meta.metadata().as_ref().and_then(|m| m.get(HOST_KEY)).ok_or_else(|| anyhow!("not a checkpoint written by nnlab (no host values)"))?;
        let host: serde_json::Map<String, serde_json::Value> = serde_json::from_str(host).context("the checkpoint's host values")?;
        let mut arrays = BTreeMap::new();
        for (name, view) in st.tensors() {
            arrays.insert(name, Array { dtype: view.dtype(), shape: view.shape().to_vec(), bytes: view.data().to_vec() });
        }
        let expected = meta.metadata().as_ref().and_then(|m| m.get(CHECKSUM_KEY)).cloned();
        let host_text = meta.metadata().as_ref().and_then(|m| m.get(HOST_KEY)).cloned().unwrap_or_default();
        let state = Self { arrays, host };
        // Checkpoints written before the checksum existed have none, and are read as they are.
        if let Some(expected) = expected {
            if expected != state.checksum(&host_text).to_string() {
                bail!("the checkpoint is damaged: its data does not match the checksum in its header (a disk or copy error); move the checkpoint folder away to start the run again");
            }
        }
        Ok(state)
    }

    /// CRC-32 of every array (name, shape, bytes; in name order) and the host values' JSON.
    fn checksum(&self, host: &str) -> u32 {
        let mut h = crc32fast::Hasher::new();
        for (name, a) in &self.arrays {
            h.update(name.as_bytes());
            for d in &a.shape {
                h.update(&(*d as u64).to_le_bytes());
            }
            h.update(&a.bytes);
        }
        h.update(host.as_bytes());
        h.finalize()
    }
}

/// Rewrites a safetensors header with its keys in sorted order.
///
/// safetensors keeps the `__metadata__` entries in a `HashMap`, whose order changes from
/// process to process; sorted keys make equal states give equal bytes. The header keeps its
/// length (the same JSON, reordered, padded with spaces as safetensors pads it), so the data
/// offsets stay valid.
fn sorted_header(mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    let len_bytes: [u8; 8] = bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| anyhow!("encoding the checkpoint: no header"))?;
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).context("encoding the checkpoint: header length")?;
    let header = bytes.get(8..8 + len).ok_or_else(|| anyhow!("encoding the checkpoint: short header"))?;
    let mut entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(header).context("encoding the checkpoint: header")?;
    if let Some(meta) = entries.get_mut("__metadata__") {
        let sorted: BTreeMap<String, String> = serde_json::from_value(meta.take()).context("encoding the checkpoint: metadata")?;
        *meta = serde_json::to_value(sorted)?;
    }
    // A `serde_json::Value` object may keep insertion order (feature `preserve_order`), so the
    // top level is written from the `BTreeMap` itself and the metadata as a sorted map above.
    let mut text = serde_json::to_vec(&entries).context("encoding the checkpoint: header")?;
    if text.len() > len {
        bail!("encoding the checkpoint: the sorted header grew ({} > {len} bytes)", text.len());
    }
    text.resize(len, b' ');
    bytes[8..8 + len].copy_from_slice(&text);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_bit_for_bit() {
        let mut s = TrainState::new();
        let w = Tensor::from_slice(&[1.5f32, -0.0, f32::MIN_POSITIVE, 3.0]).view([2, 2]);
        s.put_tensor("w", &w).unwrap();
        s.put_tensor("a", &Tensor::from_slice(&[7i64, -1])).unwrap();
        s.put_f64s("curve", &[0.1, f64::NAN, 1e300]);
        s.put("step", &1234u64).unwrap();
        let mut part = TrainState::new();
        part.put("x", &[1u8, 2]).unwrap();
        s.put_part("env", part);
        let bytes = s.to_bytes().unwrap();
        // safetensors' metadata map has a new random order each time; the bytes must not.
        for _ in 0..20 {
            assert_eq!(bytes, s.clone().to_bytes().unwrap(), "deterministic bytes");
        }
        let header = String::from_utf8_lossy(&bytes[8..80]);
        assert!(header.starts_with(r#"{"__metadata__":{"nnlab.crc32":"#), "sorted metadata: {header}");
        // A flipped bit in the data, behind an intact header, is caught.
        let mut damaged = bytes.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        let e = TrainState::from_bytes(&damaged).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        let r = TrainState::from_bytes(&bytes).unwrap();
        assert_eq!(r, s);
        let w2 = Tensor::zeros([2, 2], (Kind::Float, Device::Cpu));
        r.copy_into("w", &w2).unwrap();
        assert!(w2.equal(&w));
        assert_eq!(r.get::<u64>("step").unwrap(), 1234);
        assert_eq!(r.part("env").get::<Vec<u8>>("x").unwrap(), vec![1, 2]);
        let c = r.f64s("curve").unwrap();
        assert!(c[0] == 0.1 && c[1].is_nan() && c[2] == 1e300);
        let e = r.copy_into("w", &Tensor::zeros([3], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
        assert!(e.contains("`w`"), "{e}");
        assert!(r.get::<u64>("nope").unwrap_err().to_string().contains("no `nope`"));
        assert!(TrainState::from_bytes(b"garbage!garbage!").is_err());
    }
}
