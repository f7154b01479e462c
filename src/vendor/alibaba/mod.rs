//! Alibaba Cloud DataWorks: signer, client, wire types, mapping.

pub mod sign;
