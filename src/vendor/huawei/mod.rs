//! Huawei Cloud DataArts Studio: signer, client, wire types, mapping.

pub mod sign;
