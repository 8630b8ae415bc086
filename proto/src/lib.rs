//! The `recert.v1` gRPC API: generated messages, clients and servers, plus the encoded file
//! descriptor set that the daemon serves through gRPC reflection.

/// Generated code of the `recert.v1` package.
pub mod v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("recert.v1");
}

/// The encoded `FileDescriptorSet` of every `recert.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/recert_descriptor.bin"));
