//! The shared half of [`Env::snapshot`](crate::Env::snapshot) and
//! [`Env::restore`](crate::Env::restore): an environment keeps what changes
//! as it runs (simulator state, random stream, flags) in one serde struct, and
//! these functions turn that struct into a checkpoint's JSON and back.
//!
//! Floats are saved as their bits (`#[serde(with = "crate::snapshot::bits")]`
//! on `f64` arrays, [`f32_bits`] on an optional `f32`), so that a restored
//! environment continues bit for bit, NaN and infinities included.

use crate::env::EnvError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// `progress` as a snapshot (an environment's state always serialises).
pub fn save<T: Serialize>(progress: &T) -> serde_json::Value {
    serde_json::to_value(progress).expect("an environment's state serialises")
}

/// Reads `snapshot` back into `progress`, or an error naming the environment `id`
/// (and leaves `progress` as it was).
pub fn load<T: DeserializeOwned>(progress: &mut T, id: &str, snapshot: &serde_json::Value) -> Result<(), EnvError> {
    *progress = read(id, snapshot)?;
    Ok(())
}

/// A snapshot read back as `T`, or an error naming the environment `id`.
pub fn read<T: DeserializeOwned>(id: &str, snapshot: &serde_json::Value) -> Result<T, EnvError> {
    serde_json::from_value(snapshot.clone()).map_err(|e| EnvError::BadSnapshot(format!("{id}: {e}")))
}

/// Serde adapter for `[f64; N]`: saved as the numbers' bits.
pub mod bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes each float as its `u64` bits.
    pub fn serialize<S: Serializer, const N: usize>(values: &[f64; N], serializer: S) -> Result<S::Ok, S::Error>
    where
        [u64; N]: Serialize,
    {
        values.map(f64::to_bits).serialize(serializer)
    }

    /// Reads the floats back from their bits.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(deserializer: D) -> Result<[f64; N], D::Error>
    where
        [u64; N]: Deserialize<'de>,
    {
        Ok(<[u64; N]>::deserialize(deserializer)?.map(f64::from_bits))
    }
}

/// Serde adapter for `Option<f32>`: saved as the number's bits.
pub mod f32_bits {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the float as its `u32` bits.
    pub fn serialize<S: Serializer>(value: &Option<f32>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(f32::to_bits).serialize(serializer)
    }

    /// Reads the float back from its bits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f32>, D::Error> {
        Ok(Option::<u32>::deserialize(deserializer)?.map(f32::from_bits))
    }
}
