//! quarry's built-in rule pack: the TOML files under `rules/`, embedded in
//! the binary.

use crate::load::{RuleSet, load_str};

/// The embedded rule files, by name.
const PACK: &[(&str, &str)] = &[(
    "lateral_movement_dns_server_child_process.toml",
    include_str!("../rules/lateral_movement_dns_server_child_process.toml"),
)];

/// The built-in rules; their `path` is `builtin:rules/<file>`.
pub fn builtin() -> RuleSet {
    let mut set = RuleSet::default();
    for (name, text) in PACK {
        set.extend(load_str(text, format!("builtin:rules/{name}").into()));
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("rules dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = PACK.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn builtin_pack_loads() {
        let set = builtin();
        assert!(set.skipped.is_empty(), "{:?}", set.skipped);
        let r = set
            .get("cce600ed-3a6d-427c-8cd0-ba66d7f57a2b")
            .expect("dns.exe rule");
        assert_eq!(r.severity, "high");
        assert_eq!(r.risk_score, 73);
        assert_eq!(r.index.len(), 9);
        assert_eq!(r.threat_value()[0]["technique"][0]["id"], "T1210");
        assert_eq!(r.threat_value()[0]["tactic"]["id"], "TA0008");
        // kept as text, it serialises as the value it holds (as an alert
        // writes it), keys sorted
        let threat = serde_json::json!({ "threat": r.threat })["threat"].clone();
        assert_eq!(threat, r.threat_value());
        let text = r.threat.as_ref().map(|t| t.get().to_string());
        assert_eq!(text, serde_json::to_string(&threat).ok());
        let none = crate::Rule::default().threat;
        assert_eq!(
            serde_json::json!({ "t": none })["t"],
            serde_json::Value::Null
        );
        assert_eq!(r.investigate.len(), 5);
        assert!(r.investigate.iter().all(|i| {
            i.relative_to
                .as_deref()
                .is_some_and(|t| t.starts_with("now+"))
        }));
        assert!(r.query.contains("?process.parent.executable"));
        assert!(
            r.query
                .contains(r#""\\Device\\HarddiskVolume*\\Windows\\System32\\dns.exe""#)
        );
        assert!(r.references.iter().any(|u| u.contains("CVE-2020-1350")));
        for idx in [
            "logs-windows.sysmon_operational-default",
            "logs-crowdstrike.fdr-default",
            "logs-system.security-default",
            "logs-windows.forwarded-default",
            "logs-m365_defender.event-default",
            "logs-sentinel_one_cloud_funnel.event-default",
            "logs-endpoint.events.process-default",
            "winlogbeat-quarry",
            "endgame-quarry",
        ] {
            assert!(r.matches_index(idx), "{idx}");
        }
        assert!(!r.matches_index("logs-aws.cloudtrail-default"));
        assert!(!r.matches_index("quarry-unknown"));
    }
}
