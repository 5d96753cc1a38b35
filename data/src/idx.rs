//! The IDX format of MNIST and Fashion-MNIST (optionally gzipped):
//! a magic number `00 00 08 <ndims>` (unsigned bytes), `ndims` big-endian
//! `u32` sizes, then the bytes row-major.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What can be wrong with an IDX file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The first bytes are not an IDX header of unsigned bytes.
    #[error("{path} is not an IDX file of unsigned bytes (magic {magic:02x?}, expected [00, 00, 08, ndims])")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The four bytes found.
        magic: [u8; 4],
    },
    /// The payload is shorter or longer than the header says.
    #[error("{path} holds {found} data bytes but its header announces {expected} (truncated or corrupt)")]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// Bytes announced.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
}

/// An n-dimensional array of bytes read from an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of each dimension.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file, gunzipping it when it starts with the gzip magic.
pub fn read_idx(path: &Path) -> Result<IdxArray, IdxError> {
    let io = |source| IdxError::Io { path: path.to_path_buf(), source };
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(io)?;
        out
    } else {
        raw
    };
    let bad_magic = |bytes: &[u8]| {
        let mut magic = [0u8; 4];
        magic[..bytes.len().min(4)].copy_from_slice(&bytes[..bytes.len().min(4)]);
        IdxError::BadMagic { path: path.to_path_buf(), magic }
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] == 0 {
        return Err(bad_magic(&bytes));
    }
    let ndims = bytes[3] as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(IdxError::WrongLength { path: path.to_path_buf(), expected: header, found: bytes.len() });
    }
    let dims: Vec<usize> = (0..ndims).map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize).collect();
    let expected = dims.iter().product::<usize>();
    let found = bytes.len() - header;
    if found != expected {
        return Err(IdxError::WrongLength { path: path.to_path_buf(), expected, found });
    }
    Ok(IdxArray { dims, data: bytes[header..].to_vec() })
}

/// Encodes an array as IDX bytes (for tests and for writing subsets).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&(*d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
