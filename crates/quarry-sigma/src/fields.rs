//! Field names: a Sigma field as the path quarry stores it, per target.
//!
//! - Windows: the log's own names. System fields are `winlog.*`
//!   (`EventID`, `Channel`, `Provider_Name`, `Computer`); everything else
//!   is `winlog.event_data.<Name>`. Security 4688 read by a
//!   `process_creation` rule takes Sysmon's names through pySigma's
//!   windows-audit table (`Image` → `NewProcessName`, `ParentImage` →
//!   `ParentProcessName`, `LogonId` → `SubjectLogonId`) plus Hayabusa's
//!   `User` → `SubjectUserName`; a Sysmon field 4688 lacks (`Hashes`,
//!   `OriginalFileName`, `ParentCommandLine`, …) drops the 4688 target.
//! - ECS: the correspondence of pySigma's `ecs_windows` pipeline (the
//!   Elastic backends'), per category; a field with none drops the ECS
//!   target.

use crate::logsource::{EcsTarget, Target, WindowsTarget};
use crate::modifiers::{Pattern, Tok};

/// Fields whose values a target writes differently from the log Sigma
/// rules are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// Security 4688's `MandatoryLabel` holds the integrity level's SID
    /// (`S-1-16-12288`) where Sysmon's `IntegrityLevel` says `High`.
    IntegrityLevel,
    /// Sysmon's `Initiated` (`true`/`false`) is ECS's `network.direction`
    /// (`egress`/`outbound`, `ingress`/`inbound`).
    Initiated,
    /// Sysmon's `Hashes` (`SHA256=…,IMPHASH=…`) is one ECS field per
    /// algorithm (`process.hash.sha256`, `process.pe.imphash`).
    Hashes,
    /// An executable path whose source may give only the file name
    /// (CrowdStrike FDR's parent: `ParentBaseFileName`): a `*\name`
    /// pattern also holds when the path is missing and the name field is
    /// `name`. (executable path, name path)
    BaseName(&'static str, &'static str),
}

/// The conversion a field needs on a target, if any.
pub fn conversion(target: &Target, field: &str) -> Option<Conversion> {
    match (target, field) {
        (Target::Windows(w), "IntegrityLevel") if w.security_4688 => {
            Some(Conversion::IntegrityLevel)
        }
        (Target::Ecs(e), "Image")
            if matches!(
                e.sigma_category.as_str(),
                "process_creation" | "process_termination"
            ) =>
        {
            Some(Conversion::BaseName("process.executable", "process.name"))
        }
        (Target::Ecs(e), "ParentImage")
            if matches!(
                e.sigma_category.as_str(),
                "process_creation" | "process_termination"
            ) =>
        {
            Some(Conversion::BaseName(
                "process.parent.executable",
                "process.parent.name",
            ))
        }
        (Target::Ecs(e), "Initiated") if e.sigma_category == "network_connection" => {
            Some(Conversion::Initiated)
        }
        (Target::Ecs(e), "Hashes" | "Hash")
            if matches!(
                e.sigma_category.as_str(),
                "process_creation" | "image_load" | "driver_load"
            ) =>
        {
            Some(Conversion::Hashes)
        }
        _ => None,
    }
}

fn literal(toks: &[Tok]) -> Option<String> {
    toks.iter()
        .map(|t| match t {
            Tok::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// The file name a `*\\name` pattern (an `endswith` on a path) requires,
/// when `name` has no further backslash.
pub fn base_name(p: &Pattern) -> Option<Pattern> {
    let Pattern::Text { toks, cased } = p else {
        return None;
    };
    let rest = match toks.as_slice() {
        [Tok::Star, Tok::Char('\\'), rest @ ..] => rest,
        _ => return None,
    };
    if rest.is_empty()
        || rest
            .iter()
            .any(|t| matches!(t, Tok::Char('\\') | Tok::Star))
    {
        return None;
    }
    Some(Pattern::Text {
        toks: rest.to_vec(),
        cased: *cased,
    })
}

pub(crate) fn text(s: &str) -> Pattern {
    Pattern::Text {
        toks: s.chars().map(Tok::Char).collect(),
        cased: false,
    }
}

/// One pattern of a converted field as (path, pattern) alternatives.
pub fn convert(
    conv: Conversion,
    target: &Target,
    field: &str,
    p: &Pattern,
) -> Result<Vec<(String, Pattern)>, String> {
    match conv {
        // handled where the expression is built (it needs a null test)
        Conversion::BaseName(exe, _) => Ok(vec![(exe.to_string(), p.clone())]),
        Conversion::IntegrityLevel => {
            let path = "winlog.event_data.MandatoryLabel".to_string();
            let mut out = vec![(path.clone(), p.clone())];
            if let Pattern::Text { toks, .. } = p
                && let Some(l) = literal(toks)
            {
                let sid = match l.to_ascii_lowercase().as_str() {
                    "untrusted" => Some("S-1-16-0"),
                    "low" => Some("S-1-16-4096"),
                    "medium" => Some("S-1-16-8192"),
                    "medium plus" | "mediumplus" => Some("S-1-16-8448"),
                    "high" => Some("S-1-16-12288"),
                    "system" => Some("S-1-16-16384"),
                    "protected" => Some("S-1-16-20480"),
                    _ => None,
                };
                out.extend(sid.map(|s| (path, text(s))));
            }
            Ok(out)
        }
        Conversion::Initiated => {
            let path = "network.direction".to_string();
            let words: &[&str] = match p {
                Pattern::Text { toks, .. } => match literal(toks).as_deref() {
                    Some(l) if l.eq_ignore_ascii_case("true") => &["egress", "outbound"],
                    Some(l) if l.eq_ignore_ascii_case("false") => &["ingress", "inbound"],
                    _ => return Err(format!("no ECS value for `{field}`")),
                },
                Pattern::Null | Pattern::Exists(_) => return Ok(vec![(path, p.clone())]),
                _ => return Err(format!("no ECS value for `{field}`")),
            };
            Ok(words.iter().map(|w| (path.clone(), text(w))).collect())
        }
        Conversion::Hashes => {
            let prefix = match target {
                Target::Ecs(e) if e.sigma_category == "process_creation" => "process",
                _ => "file",
            };
            let Pattern::Text { toks, .. } = p else {
                return Err(format!("no ECS field for `{field}` with this modifier"));
            };
            // `contains`/`endswith` wrap the `ALG=value` pair in wildcards
            let inner: Vec<Tok> = {
                let mut t = toks.as_slice();
                while let [Tok::Star, rest @ ..] = t {
                    t = rest;
                }
                while let [rest @ .., Tok::Star] = t {
                    t = rest;
                }
                t.to_vec()
            };
            let Some(pair) = literal(&inner) else {
                return Err(format!("no ECS field for a wildcard `{field}` value"));
            };
            let Some((alg, value)) = pair.split_once('=') else {
                return Err(format!("no ECS field for `{field}` value `{pair}`"));
            };
            let path = match alg.to_ascii_lowercase().as_str() {
                "md5" => format!("{prefix}.hash.md5"),
                "sha1" => format!("{prefix}.hash.sha1"),
                "sha256" => format!("{prefix}.hash.sha256"),
                "imphash" => format!("{prefix}.pe.imphash"),
                other => return Err(format!("no ECS field for hash `{other}`")),
            };
            Ok(vec![(path, text(value))])
        }
    }
}

/// The quarry path of a Sigma field for a target, or why the target cannot
/// have it.
pub fn map(target: &Target, field: &str) -> Result<String, String> {
    match target {
        Target::Windows(w) => windows(w, field),
        Target::Ecs(e) => ecs(e, field),
    }
}

/// Sysmon 1 fields with no Security 4688 counterpart.
const SYSMON_ONLY_4688: &[&str] = &[
    "RuleName",
    "UtcTime",
    "ProcessGuid",
    "ProcessId",
    "FileVersion",
    "Description",
    "Product",
    "Company",
    "OriginalFileName",
    "CurrentDirectory",
    "LogonGuid",
    "TerminalSessionId",
    "Hashes",
    "Imphash",
    "md5",
    "sha1",
    "sha256",
    "ParentProcessGuid",
    "ParentProcessId",
    "ParentCommandLine",
    "ParentUser",
];

fn windows(w: &WindowsTarget, field: &str) -> Result<String, String> {
    let system = match field {
        "EventID" => Some("winlog.event_id"),
        "Channel" => Some("winlog.channel"),
        "Provider_Name" => Some("winlog.provider_name"),
        "Computer" | "ComputerName" => Some("winlog.computer_name"),
        "EventRecordID" => Some("winlog.record_id"),
        _ => None,
    };
    if let Some(p) = system {
        return Ok(p.to_string());
    }
    if field.contains('.') {
        // already a path (rare in Windows rules): taken as written
        return Ok(field.to_string());
    }
    let field = w
        .renames
        .iter()
        .find(|(from, _)| *from == field)
        .map_or(field, |(_, to)| to);
    let name = if w.security_4688 {
        if SYSMON_ONLY_4688.contains(&field) {
            return Err(format!("Security 4688 has no `{field}`"));
        }
        match field {
            "Image" => "NewProcessName",
            "ParentImage" => "ParentProcessName",
            "LogonId" => "SubjectLogonId",
            "User" => "SubjectUserName",
            other => other,
        }
    } else {
        field
    };
    if w.spaced_names {
        return Ok(format!("winlog.event_data.{}", spaced(name)));
    }
    Ok(format!("winlog.event_data.{name}"))
}

/// `ThreatName` → `Threat Name`, `ThreatID` → `Threat ID`: a space before
/// an upper-case letter that follows a lower-case one (how Defender's
/// event data names read; Hayabusa and Chainsaw match them the same way).
fn spaced(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase();
        out.push(c);
    }
    out
}

fn ecs(e: &EcsTarget, field: &str) -> Result<String, String> {
    let cat = e.sigma_category.as_str();
    let process = |f: &str| -> Option<&'static str> {
        Some(match f {
            "Image" => "process.executable",
            "ProcessId" => "process.pid",
            "ProcessGuid" => "process.entity_id",
            "User" => "user.name",
            _ => return None,
        })
    };
    let by_category: Option<&'static str> = match cat {
        "process_creation" | "process_termination" => match field {
            "CommandLine" => Some("process.command_line"),
            "ParentImage" => Some("process.parent.executable"),
            "ParentCommandLine" => Some("process.parent.command_line"),
            "ParentProcessId" => Some("process.parent.pid"),
            "ParentProcessGuid" => Some("process.parent.entity_id"),
            "OriginalFileName" => Some("process.pe.original_file_name"),
            "Description" => Some("process.pe.description"),
            "Product" => Some("process.pe.product"),
            "Company" => Some("process.pe.company"),
            "FileVersion" => Some("process.pe.file_version"),
            "Imphash" => Some("process.pe.imphash"),
            "CurrentDirectory" => Some("process.working_directory"),
            "md5" => Some("process.hash.md5"),
            "sha1" => Some("process.hash.sha1"),
            "sha256" => Some("process.hash.sha256"),
            f => process(f),
        },
        "network_connection" => match field {
            "DestinationIp" => Some("destination.ip"),
            "DestinationPort" => Some("destination.port"),
            "DestinationHostname" => Some("destination.domain"),
            "SourceIp" => Some("source.ip"),
            "SourcePort" => Some("source.port"),
            "SourceHostname" => Some("source.domain"),
            "Protocol" => Some("network.transport"),
            f => process(f),
        },
        "dns_query" | "dns" => match field {
            "QueryName" | "query" => Some("dns.question.name"),
            f => process(f),
        },
        "file_event" | "file_change" | "file_delete" => match field {
            "TargetFilename" => Some("file.path"),
            f => process(f),
        },
        "registry_set" | "registry_add" | "registry_delete" | "registry_event" => match field {
            "TargetObject" => Some("registry.path"),
            "Details" => Some("registry.data.strings"),
            f => process(f),
        },
        "image_load" | "driver_load" => match field {
            "ImageLoaded" => Some("file.path"),
            "Signed" => Some("file.code_signature.signed"),
            "SignatureStatus" => Some("file.code_signature.status"),
            "Signature" => Some("file.code_signature.subject_name"),
            "OriginalFileName" => Some("file.pe.original_file_name"),
            "Description" => Some("file.pe.description"),
            "Product" => Some("file.pe.product"),
            "Company" => Some("file.pe.company"),
            "Imphash" => Some("file.pe.imphash"),
            f => process(f),
        },
        _ => None,
    };
    match by_category {
        Some(p) => Ok(p.to_string()),
        // an ECS path written in the rule is taken as is
        None if field.contains('.') => Ok(field.to_string()),
        None => Err(format!("no ECS field for `{field}` in {cat}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logsource::targets;
    use crate::rule::LogSource;

    #[test]
    fn per_target_names() {
        let t = targets(&LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            service: None,
        })
        .expect("targets");
        let m = |i: usize, f: &str| map(&t[i], f);
        assert_eq!(m(0, "Image").as_deref(), Ok("winlog.event_data.Image"));
        assert_eq!(m(0, "EventID").as_deref(), Ok("winlog.event_id"));
        assert_eq!(
            m(1, "Image").as_deref(),
            Ok("winlog.event_data.NewProcessName")
        );
        assert_eq!(
            m(1, "ParentImage").as_deref(),
            Ok("winlog.event_data.ParentProcessName")
        );
        assert_eq!(
            m(1, "CommandLine").as_deref(),
            Ok("winlog.event_data.CommandLine")
        );
        assert!(m(1, "OriginalFileName").is_err());
        assert_eq!(m(2, "Image").as_deref(), Ok("process.executable"));
        assert_eq!(
            m(2, "OriginalFileName").as_deref(),
            Ok("process.pe.original_file_name")
        );
        assert!(m(2, "Hashes").is_err());
        assert_eq!(conversion(&t[2], "Hashes"), Some(Conversion::Hashes));
        assert_eq!(
            convert(
                Conversion::Hashes,
                &t[2],
                "Hashes",
                &Pattern::Text {
                    toks: crate::modifiers::parse_wildcards("*IMPHASH=ABC*"),
                    cased: false
                }
            ),
            Ok(vec![("process.pe.imphash".to_string(), text("ABC"))])
        );
        assert_eq!(
            conversion(&t[1], "IntegrityLevel"),
            Some(Conversion::IntegrityLevel)
        );
        let il = convert(
            Conversion::IntegrityLevel,
            &t[1],
            "IntegrityLevel",
            &text("High"),
        )
        .expect("converts");
        assert_eq!(
            il[1],
            (
                "winlog.event_data.MandatoryLabel".into(),
                text("S-1-16-12288")
            )
        );
        assert_eq!(m(0, "Provider_Name").as_deref(), Ok("winlog.provider_name"));
        let d = targets(&LogSource {
            product: Some("windows".into()),
            category: None,
            service: Some("windefend".into()),
        })
        .expect("targets");
        assert_eq!(
            map(&d[0], "ThreatName").as_deref(),
            Ok("winlog.event_data.Threat Name")
        );
        assert_eq!(
            map(&d[0], "ThreatID").as_deref(),
            Ok("winlog.event_data.Threat ID")
        );
        assert_eq!(map(&d[0], "Path").as_deref(), Ok("winlog.event_data.Path"));
        assert_eq!(map(&d[0], "EventID").as_deref(), Ok("winlog.event_id"));
        let av = targets(&LogSource {
            product: None,
            category: Some("antivirus".into()),
            service: None,
        })
        .expect("targets");
        assert_eq!(
            map(&av[0], "Signature").as_deref(),
            Ok("winlog.event_data.Threat Name")
        );
        assert_eq!(
            map(&av[0], "Filename").as_deref(),
            Ok("winlog.event_data.Path")
        );
    }
}
