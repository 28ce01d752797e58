//! Compose's short volume syntax: `TARGET`, `SOURCE:TARGET`,
//! `SOURCE:TARGET:OPTIONS` (options `ro`, `rw`, `nocopy`, a consistency or
//! a bind propagation, comma-separated). A source that looks like a path is
//! a bind mount, any other a named volume.

use crate::compose::{BindPropagation, Consistency, Mount, MountType};

fn is_path_like(s: &str) -> bool {
    s.starts_with('/') || s.starts_with('.') || s.starts_with('~') || s.starts_with('$')
}

/// The mount a short volume string describes, or what is wrong with it.
pub fn parse_short_volume(text: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, opts) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [s, t] => (Some(*s), *t, ""),
        [s, t, o] => (Some(*s), *t, *o),
        _ => return Err("too many `:`".into()),
    };
    if target.is_empty() {
        return Err("the container path is empty".into());
    }
    if !target.starts_with('/') {
        return Err(format!("the container path `{target}` is not absolute"));
    }
    let mut m = Mount {
        kind: match source {
            Some(s) if is_path_like(s) => MountType::Bind,
            _ => MountType::Volume,
        },
        source: source.map(str::to_owned),
        target: target.to_owned(),
        read_only: false,
        consistency: None,
        bind_propagation: None,
        bind_create_host_path: None,
        volume_nocopy: false,
        tmpfs_size: None,
        tmpfs_mode: None,
        declared_at: None,
    };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "nocopy" => m.volume_nocopy = true,
            "z" | "Z" => {}
            // `default` is the engine's word for "none given", not an option.
            other => match (Consistency::parse(other), BindPropagation::parse(other)) {
                (Some(c), _) if c != Consistency::Default => m.consistency = Some(c),
                (_, Some(p)) => m.bind_propagation = Some(p),
                _ => return Err(format!("unknown option `{other}`")),
            },
        }
    }
    if m.kind == MountType::Bind {
        // docker stack deploy creates missing bind sources only with the long form.
        m.bind_create_host_path = Some(true);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_volumes() {
        let m = parse_short_volume("data:/var/lib/data:ro").expect("valid");
        assert_eq!(
            (m.kind, m.source.as_deref(), m.target.as_str(), m.read_only),
            (MountType::Volume, Some("data"), "/var/lib/data", true)
        );
        let m = parse_short_volume("/srv:/srv").expect("valid");
        assert_eq!(m.kind, MountType::Bind);
        let m = parse_short_volume("/cache").expect("valid");
        assert_eq!((m.kind, m.source), (MountType::Volume, None));
        assert!(parse_short_volume("data:relative").is_err());
        assert!(parse_short_volume("a:/b:bogus").is_err());
    }

    #[test]
    fn short_volume_options_are_typed() {
        let m = parse_short_volume("/srv:/srv:ro,rshared,cached").expect("valid");
        assert_eq!(m.bind_propagation, Some(BindPropagation::Rshared));
        assert_eq!(m.consistency, Some(Consistency::Cached));
        assert!(m.read_only);
        assert!(parse_short_volume("/srv:/srv:default").is_err());
    }
}
