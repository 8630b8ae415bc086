//! The `recert.v1` gRPC API: generated messages, clients and servers, plus the encoded file
//! descriptor set that the daemon serves through gRPC reflection.

/// Generated code of the `recert.v1` package.
pub mod v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("recert.v1");
    pub use crate::ListComplianceResponse;
}

use prost::bytes::{Buf, BufMut, Bytes};
use prost::encoding::{DecodeContext, WireType};

/// `recert.v1.ListComplianceResponse`, written by hand instead of generated: besides the
/// decoded rows it can carry the rows already encoded ([`ListComplianceResponse::encoded`]),
/// which are then sent as they are. The daemon keeps a holder's encoded answer beside its
/// cached standing, so a repeated `ListCompliance` neither converts nor encodes the rows.
/// On the wire it is the message of compliance.proto (field 1: `repeated Compliance`).
#[derive(Clone, PartialEq, Default, Debug)]
pub struct ListComplianceResponse {
    /// The rows (empty in an answer made by [`ListComplianceResponse::encoded`]).
    pub compliance: Vec<v1::Compliance>,
    /// The encoded message, sent instead of `compliance` when set.
    encoded: Option<Bytes>,
}

impl ListComplianceResponse {
    /// The answer of `rows`.
    pub fn new(rows: Vec<v1::Compliance>) -> Self {
        ListComplianceResponse {
            compliance: rows,
            encoded: None,
        }
    }

    /// An answer sent as `bytes`: the encoding of a `ListComplianceResponse` (as made by
    /// `prost::Message::encode_to_vec` of one built with [`ListComplianceResponse::new`]).
    pub fn encoded(bytes: Bytes) -> Self {
        ListComplianceResponse {
            compliance: Vec::new(),
            encoded: Some(bytes),
        }
    }
}

impl prost::Message for ListComplianceResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match &self.encoded {
            Some(bytes) => buf.put_slice(bytes),
            None => prost::encoding::message::encode_repeated(1, &self.compliance, buf),
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag == 1 {
            prost::encoding::message::merge_repeated(wire_type, &mut self.compliance, buf, ctx)
        } else {
            prost::encoding::skip_field(wire_type, tag, buf, ctx)
        }
    }

    fn encoded_len(&self) -> usize {
        match &self.encoded {
            Some(bytes) => bytes.len(),
            None => prost::encoding::message::encoded_len_repeated(1, &self.compliance),
        }
    }

    fn clear(&mut self) {
        self.compliance.clear();
        self.encoded = None;
    }
}

impl prost::Name for ListComplianceResponse {
    const NAME: &'static str = "ListComplianceResponse";
    const PACKAGE: &'static str = "recert.v1";
}

/// The encoded `FileDescriptorSet` of every `recert.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/recert_descriptor.bin"));
