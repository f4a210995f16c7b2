//! Name rules: what Fabric and Kubernetes accept as a channel, chaincode,
//! version, label, org, MSP ID or DNS label. Each returns the message.

use super::RuleError;

/// Fabric channel IDs: `[a-z][a-z0-9.-]*`, at most 249 characters.
pub fn check_channel_name(s: &str) -> Result<(), RuleError> {
    let mut chars = s.chars();
    let ok = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '.' | '-'));
    if !ok {
        return Err(format!(
            "{s:?} is not a valid channel name: Fabric wants a lower-case letter first, then lower-case letters, digits, '.' or '-'"
        ).into());
    }
    if s.len() > 249 {
        return Err(format!(
            "channel name is {} characters long; Fabric allows at most 249",
            s.len()
        )
        .into());
    }
    Ok(())
}

/// Fabric lifecycle chaincode names: `^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$`.
pub fn check_chaincode_name(s: &str) -> Result<(), RuleError> {
    let ok = !s.is_empty()
        && s.split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid chaincode name: Fabric wants letters and digits, optionally joined by single '-' or '_' (e.g. asset-transfer)"
        ).into())
    }
}

/// Fabric chaincode versions: `^[A-Za-z0-9_.+-]+$`.
pub fn check_chaincode_version(s: &str) -> Result<(), RuleError> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
    {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid chaincode version: use letters, digits, '_', '.', '+' or '-'"
        )
        .into())
    }
}

/// Fabric package labels: `^[[:alnum:]][[:alnum:]_.+-]*$`.
pub fn check_label(s: &str) -> Result<(), RuleError> {
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid package label: Fabric wants a letter or digit first, then letters, digits, '_', '.', '+' or '-'"
        ).into())
    }
}

/// Kubernetes DNS-1123 label: lower-case alphanumerics and '-', starting and
/// ending alphanumeric, at most `max` (<= 63) characters.
pub fn check_dns_label(s: &str, max: usize) -> Result<(), RuleError> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if !ok {
        return Err(format!(
            "{s:?} is not a valid Kubernetes name (DNS-1123 label): use lower-case letters, digits and '-', starting and ending with a letter or digit"
        ).into());
    }
    if s.len() > max {
        return Err(format!(
            "{s:?} is {} characters long; at most {max} are allowed here",
            s.len()
        )
        .into());
    }
    Ok(())
}

/// Org names: a letter, then letters, digits or '-'; at most 30 characters.
/// Lower-cased, they become part of Kubernetes names, so that form must be a
/// DNS-1123 label too.
pub fn check_org_name(s: &str) -> Result<(), RuleError> {
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.ends_with('-');
    if !ok {
        return Err(format!(
            "{s:?} is not a valid organisation name: use a letter first, then letters, digits or '-' (it becomes part of Kubernetes names)"
        ).into());
    }
    if s.len() > 30 {
        return Err(format!(
            "organisation name {s:?} is {} characters long; at most 30 are allowed",
            s.len()
        )
        .into());
    }
    Ok(())
}

/// MSP IDs: letters, digits, '.', '-' and '_'.
pub fn check_msp_id(s: &str) -> Result<(), RuleError> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid MSP ID: use letters, digits, '.', '-' or '_'").into())
    }
}
