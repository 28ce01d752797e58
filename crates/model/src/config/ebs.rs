//! What EBS accepts for a relocatable volume, per volume type: sizes, IOPS
//! and throughput, after AWS's "Amazon EBS volume types" tables (checked
//! 2026-12). A value EBS would refuse at `CreateVolume` is refused here, at
//! its line, before anything is created.

use std::ops::RangeInclusive;

use super::types::EbsType;

/// The limits of one EBS volume type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbsLimits {
    /// Sizes in GiB.
    pub size_gb: RangeInclusive<u32>,
    /// Provisioned IOPS, when the type takes them.
    pub iops: Option<RangeInclusive<u32>>,
    /// Whether `iops` must be given (io1, io2).
    pub iops_required: bool,
    /// At most this many IOPS per GiB of size.
    pub iops_per_gib: Option<u32>,
    /// Provisioned throughput in MiB/s, when the type takes it (gp3).
    pub throughput: Option<RangeInclusive<u32>>,
    /// Why a type takes no IOPS or throughput of its own, for messages.
    pub fixed_performance: &'static str,
}

/// The types a relocatable volume may have: magnetic `standard` is of a
/// previous generation and not offered.
pub const RELOCATABLE_TYPES: &[EbsType] = &[
    EbsType::Gp3,
    EbsType::Gp2,
    EbsType::Io1,
    EbsType::Io2,
    EbsType::St1,
    EbsType::Sc1,
];

/// `ebs_type` when not written.
pub const DEFAULT_RELOCATABLE_TYPE: EbsType = EbsType::Gp3;

/// gp3's IOPS and throughput when not written (its baseline).
pub const GP3_BASELINE_IOPS: u32 = 3000;
pub const GP3_BASELINE_THROUGHPUT: u32 = 125;
/// gp3 allows 0.25 MiB/s of throughput per provisioned IOPS.
pub const GP3_THROUGHPUT_PER_IOPS: f64 = 0.25;

/// The limits of `kind`; `None` for a type a relocatable volume may not have.
pub fn limits(kind: EbsType) -> Option<EbsLimits> {
    let fixed = |why| EbsLimits {
        size_gb: 1..=16384,
        iops: None,
        iops_required: false,
        iops_per_gib: None,
        throughput: None,
        fixed_performance: why,
    };
    Some(match kind {
        EbsType::Gp3 => EbsLimits {
            size_gb: 1..=16384,
            iops: Some(3000..=16000),
            iops_required: false,
            iops_per_gib: Some(500),
            throughput: Some(125..=1000),
            fixed_performance: "",
        },
        EbsType::Gp2 => fixed("gp2's IOPS follow its size (3 per GiB, bursting to 3000)"),
        EbsType::Io1 => EbsLimits {
            size_gb: 4..=16384,
            iops: Some(100..=64000),
            iops_required: true,
            iops_per_gib: Some(50),
            throughput: None,
            fixed_performance: "io1's throughput follows its IOPS",
        },
        EbsType::Io2 => EbsLimits {
            size_gb: 4..=65536,
            iops: Some(100..=256000),
            iops_required: true,
            iops_per_gib: Some(1000),
            throughput: None,
            fixed_performance: "io2's throughput follows its IOPS",
        },
        EbsType::St1 => EbsLimits {
            size_gb: 125..=16384,
            ..fixed("st1's throughput follows its size, and it has no IOPS to provision")
        },
        EbsType::Sc1 => EbsLimits {
            size_gb: 125..=16384,
            ..fixed("sc1's throughput follows its size, and it has no IOPS to provision")
        },
        EbsType::Standard => return None,
    })
}

/// Why a KMS key reference is not one (`None`: it may be). EBS takes a key
/// id, an alias (`alias/NAME`) or the ARN of either.
pub fn kms_key_problem(key: &str) -> Option<&'static str> {
    let id_like = |s: &str| {
        s.len() == 36
            && s.bytes().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let ok = if let Some(rest) = key.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        parts.len() == 5
            && parts[1] == "kms"
            && (parts[4].strip_prefix("key/").is_some_and(id_like)
                || parts[4].strip_prefix("alias/").is_some_and(|a| !a.is_empty()))
    } else if let Some(alias) = key.strip_prefix("alias/") {
        !alias.is_empty()
    } else {
        id_like(key)
    };
    (!ok).then_some("a KMS key id (8-4-4-4-12 hex digits), `alias/NAME`, or the ARN of either")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_relocatable_type_has_limits_and_standard_has_none() {
        for t in RELOCATABLE_TYPES {
            let l = limits(*t).expect("limits");
            assert!(l.size_gb.start() <= l.size_gb.end());
            assert_eq!(l.iops_required, matches!(t, EbsType::Io1 | EbsType::Io2), "{t:?}");
            assert_eq!(l.throughput.is_some(), *t == EbsType::Gp3, "{t:?}");
            assert_eq!(
                l.iops.is_some(),
                matches!(t, EbsType::Gp3 | EbsType::Io1 | EbsType::Io2)
            );
        }
        assert_eq!(limits(EbsType::Standard), None);
        assert_eq!(limits(EbsType::St1).map(|l| *l.size_gb.start()), Some(125));
    }

    #[test]
    fn kms_keys_are_ids_aliases_or_their_arns() {
        for ok in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/swarmkeeper-ebs",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:123456789012:alias/swarmkeeper-ebs",
        ] {
            assert_eq!(kms_key_problem(ok), None, "{ok}");
        }
        for bad in ["", "my-key", "alias/", "arn:aws:s3:::bucket", "1234abcd-12ab-34cd-56ef"] {
            assert!(kms_key_problem(bad).is_some(), "{bad}");
        }
    }
}
