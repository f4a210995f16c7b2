//! `fabric.batchSize`: the orderer's block-cutting limits, checked as
//! Fabric's channel config checks them (`validateBatchSize`: no zero, the
//! preferred size at most the absolute one), and the absolute size within
//! what one gRPC message carries.

use serde_saphyr::Spanned;

use super::super::raw::RawWorkspace;
use super::super::{BatchSize, MAX_BATCH_BYTES};
use super::{Checker, pos_of};

/// `fabric.batchSize`, each field defaulting to [`BatchSize::default`].
pub(super) fn batch_size(c: &mut Checker, raw: &RawWorkspace) -> BatchSize {
    let mut out = BatchSize::default();
    let Some(b) = raw.fabric.as_ref().and_then(|f| f.batch_size.as_ref()) else {
        return out;
    };
    let b = &b.value;
    let field = |c: &mut Checker, v: &Option<Spanned<u32>>, name: &str, max: u32, hint: &str| {
        let v = v.as_ref()?;
        let r = if v.value == 0 {
            Err(format!(
                "{name} is 0; Fabric refuses a channel config with it"
            ))
        } else if v.value > max {
            Err(format!("{name} {} is above {max}", v.value))
        } else {
            Ok(())
        };
        c.at(v, format!("fabric.batchSize.{name}"), r, hint);
        Some(v.value)
    };
    if let Some(n) = field(
        c,
        &b.max_message_count,
        "maxMessageCount",
        u32::MAX,
        "the most transactions in a block, such as 10 (default) or 500 (Fabric's default)",
    ) {
        out.max_message_count = n;
    }
    let bytes_hint = "a block must fit in one gRPC message (at most 104857600 bytes, 100 MiB); the default is 103809024 (99 MiB)";
    if let Some(n) = field(
        c,
        &b.absolute_max_bytes,
        "absoluteMaxBytes",
        MAX_BATCH_BYTES,
        bytes_hint,
    ) {
        out.absolute_max_bytes = n;
    }
    if let Some(n) = field(
        c,
        &b.preferred_max_bytes,
        "preferredMaxBytes",
        MAX_BATCH_BYTES,
        "the block size the orderer aims at, such as 524288 (512 KiB, the default)",
    ) {
        out.preferred_max_bytes = n;
    }
    if out.preferred_max_bytes > out.absolute_max_bytes {
        let at = b
            .preferred_max_bytes
            .as_ref()
            .or(b.absolute_max_bytes.as_ref());
        c.push(
            at.and_then(pos_of),
            "fabric.batchSize.preferredMaxBytes",
            format!(
                "preferredMaxBytes {} is greater than absoluteMaxBytes {}",
                out.preferred_max_bytes, out.absolute_max_bytes
            ),
            "set preferredMaxBytes at most absoluteMaxBytes (Fabric refuses the channel config otherwise)",
        );
    }
    out
}
