//! Variable interpolation in compose files, as `docker stack deploy` does it:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
//! `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`.
//! Defaults may themselves contain substitutions.

use std::collections::BTreeMap;

/// Variables visible to a stack's compose file.
pub type Variables = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?message}` with VAR unset (or empty for `:?`).
    Required { var: String, message: String },
    /// Syntax error in a `${...}` expression.
    Invalid { template: String, why: String },
}

/// Result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interpolated {
    pub value: String,
    /// Variables used without a value and without a default.
    pub unset: Vec<String>,
}

pub fn interpolate(input: &str, vars: &Variables) -> Result<Interpolated, InterpolationError> {
    let mut out = Interpolated::default();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.value.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.value.push('$');
                i += 2;
            }
            Some('{') => {
                let close = find_closing_brace(&chars, i + 2).ok_or_else(|| InterpolationError::Invalid {
                    template: input.to_owned(),
                    why: "`${` is never closed with `}`".into(),
                })?;
                let expr: String = chars[i + 2..close].iter().collect();
                let value = expand_braced(&expr, vars, &mut out.unset, input)?;
                out.value.push_str(&value);
                i = close + 1;
            }
            Some(&n) if is_name_start(n) => {
                let mut j = i + 1;
                while j < chars.len() && is_name_char(chars[j]) {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                match vars.get(&name) {
                    Some(v) => out.value.push_str(v),
                    None => out.unset.push(name),
                }
                i = j;
            }
            _ => {
                return Err(InterpolationError::Invalid {
                    template: input.to_owned(),
                    why: "a lone `$` must be written `$$`".into(),
                });
            }
        }
    }
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Index of the `}` closing a `${` whose body starts at `from`, counting nesting.
fn find_closing_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn expand_braced(
    expr: &str,
    vars: &Variables,
    unset: &mut Vec<String>,
    template: &str,
) -> Result<String, InterpolationError> {
    let name_len = expr.find(|c: char| !is_name_char(c)).unwrap_or(expr.len());
    let name = &expr[..name_len];
    let invalid = |why: String| InterpolationError::Invalid {
        template: template.to_owned(),
        why,
    };
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(invalid(format!("`${{{expr}}}` does not start with a variable name")));
    }
    let op = &expr[name_len..];
    let value = vars.get(name);
    let set = value.is_some();
    let non_empty = value.is_some_and(|v| !v.is_empty());
    let nested = |text: &str, unset: &mut Vec<String>| -> Result<String, InterpolationError> {
        let r = interpolate(text, vars)?;
        unset.extend(r.unset);
        Ok(r.value)
    };
    let (operator, arg) = if let Some(rest) = op.strip_prefix(":-") {
        (":-", rest)
    } else if let Some(rest) = op.strip_prefix(":?") {
        (":?", rest)
    } else if let Some(rest) = op.strip_prefix(":+") {
        (":+", rest)
    } else if let Some(rest) = op.strip_prefix('-') {
        ("-", rest)
    } else if let Some(rest) = op.strip_prefix('?') {
        ("?", rest)
    } else if let Some(rest) = op.strip_prefix('+') {
        ("+", rest)
    } else if op.is_empty() {
        ("", "")
    } else {
        return Err(invalid(format!(
            "`${{{expr}}}`: unexpected `{op}` after the variable name (expected `:-`, `-`, `:?`, `?`, `:+`, `+` or `}}`)"
        )));
    };
    let current = || value.cloned().unwrap_or_default();
    Ok(match operator {
        "" => {
            if !set {
                unset.push(name.to_owned());
            }
            current()
        }
        ":-" => {
            if non_empty {
                current()
            } else {
                nested(arg, unset)?
            }
        }
        "-" => {
            if set {
                current()
            } else {
                nested(arg, unset)?
            }
        }
        ":+" => {
            if non_empty {
                nested(arg, unset)?
            } else {
                String::new()
            }
        }
        "+" => {
            if set {
                nested(arg, unset)?
            } else {
                String::new()
            }
        }
        ":?" | "?" => {
            let ok = if operator == ":?" { non_empty } else { set };
            if !ok {
                let message = nested(arg, unset)?;
                return Err(InterpolationError::Required {
                    var: name.to_owned(),
                    message,
                });
            }
            current()
        }
        _ => unreachable!("operators are matched above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        [("A", "alpha"), ("EMPTY", ""), ("N", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("$A", "alpha"),
            ("${A}", "alpha"),
            ("x${A}y", "xalphay"),
            ("$$A", "$A"),
            ("$$", "$"),
            ("${MISSING:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${MISSING-def}", "def"),
            ("${A:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${MISSING:-${A}}", "alpha"),
            ("${MISSING:-a-${N}-b}", "a-3-b"),
            ("${A:?must be set}", "alpha"),
            ("replicas=${N}", "replicas=3"),
        ];
        for (input, want) in cases {
            let got = interpolate(input, &vars()).map(|r| r.value);
            assert_eq!(got.as_deref(), Ok(*want), "{input}");
        }
    }

    #[test]
    fn unset_variables_are_reported_and_blank() {
        let r = interpolate("a${NOPE}b$ALSO_NOPE", &vars()).expect("valid");
        assert_eq!(r.value, "ab");
        assert_eq!(r.unset, vec!["NOPE".to_owned(), "ALSO_NOPE".to_owned()]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            interpolate("${DB_PASSWORD:?set it in the env file}", &vars()),
            Err(InterpolationError::Required {
                var: "DB_PASSWORD".into(),
                message: "set it in the env file".into()
            })
        );
        assert!(matches!(interpolate("${EMPTY?x}", &vars()), Ok(r) if r.value.is_empty()));
        assert!(matches!(
            interpolate("${A", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
        assert!(matches!(
            interpolate("${A:x}", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
        assert!(matches!(
            interpolate("${}", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
        assert!(matches!(
            interpolate("cost: 5$", &vars()),
            Err(InterpolationError::Invalid { .. })
        ));
    }
}
