//! Security descriptors in SDDL (`OldSd`, `NewSd` of 4670, 4817, 4907,
//! 4908) and SID lists (`SidList` of 4908) decoded as Elastic's Security
//! pipeline does ("Enrich SDDL"): one `<Sd>Dacl<n>` / `<Sd>Sacl<n>` text per
//! ACE, `grantee :type ([rights])`, the grantee named from the pipeline's
//! tables; Administrator, Guest and KRBTGT grantees go to `related.user`.
//! The pipeline's own quirks are kept, since its documents are what rules
//! and analysts compare against: an unknown name prints `null`, the owner
//! and group keep their `O:`/`G:` prefix (so stay untranslated), and the
//! DACL pattern runs to the last `)`, so ACEs of a following SACL are
//! listed under the DACL too.

use quarry_event::Event;
use regex::Regex;
use std::sync::LazyLock;

/// `AccountSIDDescription`: SDDL aliases and well-known SIDs (sorted).
const ACCOUNT_SIDS: &[(&str, &str)] = &[
    ("AN", "Anonymous logon"),
    ("AO", "Account operators"),
    ("AU", "Authenticated users"),
    ("BA", "Built-in administrators"),
    ("BG", "Built-in guests"),
    ("BO", "Backup operators"),
    ("BU", "Built-in users"),
    ("CA", "Certificate server administrators"),
    ("CG", "Creator group"),
    ("CO", "Creator owner"),
    ("DA", "Domain administrators"),
    ("DC", "Domain computers"),
    ("DD", "Domain controllers"),
    ("DG", "Domain guests"),
    ("DU", "Domain users"),
    ("EA", "Enterprise administrators"),
    ("ED", "Enterprise domain controllers"),
    ("IU", "Interactively logged-on user"),
    ("LA", "Local administrator"),
    ("LG", "Local guest"),
    ("LS", "Local service account"),
    ("NO", "Network configuration operators"),
    ("NS", "Network service account"),
    ("NU", "Network logon user"),
    ("PA", "Group Policy administrators"),
    ("PO", "Printer operators"),
    ("PS", "Personal self"),
    ("PU", "Power users"),
    ("RC", "Restricted code"),
    ("RD", "Terminal server users"),
    ("RE", "Replicator"),
    ("RS", "RAS servers group"),
    ("RU", "Alias to allow previous Windows 2000"),
    ("S-1-0", "Null Authority"),
    ("S-1-0-0", "Nobody"),
    ("S-1-1", "World Authority"),
    ("S-1-1-0", "Everyone"),
    ("S-1-16-0", "Untrusted Mandatory Level"),
    ("S-1-16-12288", "High Mandatory Level"),
    ("S-1-16-16384", "System Mandatory Level"),
    ("S-1-16-20480", "Protected Process Mandatory Level"),
    ("S-1-16-28672", "Secure Process Mandatory Level"),
    ("S-1-16-4096", "Low Mandatory Level"),
    ("S-1-16-8192", "Medium Mandatory Level"),
    ("S-1-16-8448", "Medium Plus Mandatory Level"),
    ("S-1-2", "Local Authority"),
    ("S-1-2-0", "Local"),
    ("S-1-2-1", "Console Logon"),
    ("S-1-3", "Creator Authority"),
    ("S-1-3-0", "Creator Owner"),
    ("S-1-3-1", "Creator Group"),
    ("S-1-3-2", "Creator Owner Server"),
    ("S-1-3-3", "Creator Group Server"),
    ("S-1-3-4", "Owner Rights"),
    ("S-1-4", "Non-unique Authority"),
    ("S-1-5", "NT Authority"),
    ("S-1-5-1", "Dialup"),
    ("S-1-5-10", "Principal Self"),
    ("S-1-5-11", "Authenticated Users"),
    ("S-1-5-12", "Restricted Code"),
    ("S-1-5-13", "Terminal Server Users"),
    ("S-1-5-14", "Remote Interactive Logon"),
    ("S-1-5-15", "This Organization"),
    ("S-1-5-17", "This Organization"),
    ("S-1-5-18", "Local System"),
    ("S-1-5-19", "NT Authority"),
    ("S-1-5-2", "Network"),
    ("S-1-5-20", "NT Authority"),
    ("S-1-5-3", "Batch"),
    ("S-1-5-32-544", "Administrators"),
    ("S-1-5-32-545", "Users"),
    ("S-1-5-32-546", "Guests"),
    ("S-1-5-32-547", "Power Users"),
    ("S-1-5-32-548", "Account Operators"),
    ("S-1-5-32-549", "Server Operators"),
    ("S-1-5-32-550", "Print Operators"),
    ("S-1-5-32-551", "Backup Operators"),
    ("S-1-5-32-552", "Replicators"),
    (
        "S-1-5-32-554",
        "Builtin\\Pre-Windows 2000 Compatible Access",
    ),
    ("S-1-5-32-555", "Builtin\\Remote Desktop Users"),
    ("S-1-5-32-556", "Builtin\\Network Configuration Operators"),
    ("S-1-5-32-557", "Builtin\\Incoming Forest Trust Builders"),
    ("S-1-5-32-558", "Builtin\\Performance Monitor Users"),
    ("S-1-5-32-559", "Builtin\\Performance Log Users"),
    (
        "S-1-5-32-560",
        "Builtin\\Windows Authorization Access Group",
    ),
    ("S-1-5-32-561", "Builtin\\Terminal Server License Servers"),
    ("S-1-5-32-562", "Builtin\\Distributed COM Users"),
    ("S-1-5-32-569", "Builtin\\Cryptographic Operators"),
    ("S-1-5-32-573", "Builtin\\Event Log Readers"),
    ("S-1-5-32-574", "Builtin\\Certificate Service DCOM Access"),
    ("S-1-5-32-575", "Builtin\\RDS Remote Access Servers"),
    ("S-1-5-32-576", "Builtin\\RDS Endpoint Servers"),
    ("S-1-5-32-577", "Builtin\\RDS Management Servers"),
    ("S-1-5-32-578", "Builtin\\Hyper-V Administrators"),
    (
        "S-1-5-32-579",
        "Builtin\\Access Control Assistance Operators",
    ),
    ("S-1-5-32-580", "Builtin\\Remote Management Users"),
    ("S-1-5-32-582", "Storage Replica Administrators"),
    ("S-1-5-4", "Interactive"),
    ("S-1-5-5-X-Y", "Logon Session"),
    ("S-1-5-6", "Service"),
    ("S-1-5-64-10", "NTLM Authentication"),
    ("S-1-5-64-14", "SChannel Authentication"),
    ("S-1-5-64-21", "Digest Authentication"),
    ("S-1-5-7", "Anonymous"),
    ("S-1-5-8", "Proxy"),
    ("S-1-5-80", "NT Service"),
    ("S-1-5-80-0", "All Services"),
    ("S-1-5-83-0", "NT Virtual Machine\\Virtual Machines"),
    ("S-1-5-9", "Enterprise Domain Controllers"),
    ("S-1-5-90-0", "Windows Manager\\Windows Manager Group"),
    ("SA", "Schema administrators"),
    ("SO", "Server operators"),
    ("SU", "Service logon user"),
    ("SY", "Local system"),
    ("WD", "Everyone"),
];

/// `DomainSpecificSID`: well-known relative ids of domain SIDs (sorted).
const DOMAIN_RIDS: &[(&str, &str)] = &[
    ("498", "Enterprise Read-only Domain Controllers"),
    ("500", "Administrator"),
    ("501", "Guest"),
    ("502", "KRBTGT"),
    ("512", "Domain Admins"),
    ("513", "Domain Users"),
    ("514", "Domain Guests"),
    ("515", "Domain Computers"),
    ("516", "Domain Controllers"),
    ("517", "Cert Publishers"),
    ("518", "Schema Admins"),
    ("519", "Enterprise Admins"),
    ("520", "Group Policy Creator Owners"),
    ("521", "Read-only Domain Controllers"),
    ("522", "Cloneable Domain Controllers"),
    ("526", "Key Admins"),
    ("527", "Enterprise Key Admins"),
    ("553", "RAS and IAS Servers"),
    ("571", "Allowed RODC Password Replication Group"),
    ("572", "Denied RODC Password Replication Group"),
];

/// `AceTypes` (sorted).
const ACE_TYPES: &[(&str, &str)] = &[
    ("A", "Access Allowed"),
    ("AL", "System Alarm"),
    ("AU", "System Audit"),
    ("D", "Access Denied"),
    ("ML", "System Mandatory Label"),
    ("OA", "Object Access Allowed"),
    ("OD", "Object Access Denied"),
    ("OL", "System Object Alarm"),
    ("OU", "System Object Audit"),
    ("SP", "Central Policy ID"),
];

/// `PermissionDescription`: two-letter SDDL rights (sorted).
const RIGHTS: &[(&str, &str)] = &[
    ("CC", "Create All Child Objects"),
    ("CR", "All Extended Rights"),
    ("DC", "Delete All Child Objects"),
    ("DT", "Delete Subtree"),
    ("FA", "File All Access"),
    ("FR", "File Generic Read"),
    ("FW", "FILE GENERIC WRITE"),
    ("FX", "FILE GENERIC EXECUTE"),
    ("GA", "Generic All"),
    ("GR", "Generic Read"),
    ("GW", "Generic Write"),
    ("GX", "Generic Execute"),
    ("KA", "KEY ALL ACCESS"),
    ("KR", "KEY READ"),
    ("KW", "KEY WRITE"),
    ("KX", "KEY EXECUTE"),
    ("LC", "List Contents"),
    ("LO", "List Object"),
    ("RC", "Read Permissions"),
    ("RP", "Read All Properties"),
    ("SD", "Delete"),
    ("SW", "All Validated"),
    ("WD", "Modify Permissions"),
    ("WO", "Modify Owner"),
    ("WP", "Write All Properties"),
];

/// `PermsFlags` in the pipeline's order (the order names are listed in),
/// with its values as written (`0x4000000` for Generic Write included).
const MASK_FLAGS: &[(u32, &str)] = &[
    (0x80000000, "Generic Read"),
    (0x4000000, "Generic Write"),
    (0x20000000, "Generic Execute"),
    (0x10000000, "Generic All"),
    (0x02000000, "Maximum Allowed"),
    (0x01000000, "Access System Security"),
    (0x00100000, "Syncronize"),
    (0x00080000, "Write Owner"),
    (0x00040000, "Write DACL"),
    (0x00020000, "Read Control"),
    (0x00010000, "Delete"),
];

fn lookup(table: &'static [(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table
        .binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| table[i].1)
}

/// `translateSID`: a name from the tables, a domain SID by its relative id
/// (`null` when the table has none), anything else as written.
fn translate_sid(sid: &str) -> String {
    if let Some(name) = lookup(ACCOUNT_SIDS, sid) {
        return name.to_string();
    }
    if sid.starts_with("S-1-5-21") {
        // the last one to five digits, as the pipeline's `[0-9]{1,5}$`
        let digits = sid.bytes().rev().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let rid = &sid[sid.len() - digits.min(5)..];
            return lookup(DOMAIN_RIDS, rid).unwrap_or("null").to_string();
        }
    }
    sid.to_string()
}

/// `translateACL`: one ACE (`type;flags;rights;object;inherited;sid`) as
/// `grantee :type ([rights])`, and its grantee.
fn translate_ace(ace: &str) -> (String, String) {
    let parts: Vec<&str> = ace.split(';').collect();
    let grantee = parts
        .get(5)
        .map_or_else(|| "null".to_string(), |sid| translate_sid(sid));
    let ty = parts
        .first()
        .and_then(|t| lookup(ACE_TYPES, t))
        .unwrap_or("null");
    let perms = match parts.get(2) {
        Some(rights) if rights.starts_with("0x") => {
            let names: Vec<&str> = match u32::from_str_radix(&rights[2..], 16) {
                Ok(mask) => MASK_FLAGS
                    .iter()
                    .filter(|(flag, _)| mask & flag == *flag)
                    .map(|(_, name)| *name)
                    .collect(),
                Err(_) => Vec::new(),
            };
            if names.is_empty() {
                format!("[{rights}]")
            } else {
                format!("[{}]", names.join(", "))
            }
        }
        Some(rights) => {
            // two letters at a time (`.{1,2}`), unknown ones `null`
            let chars: Vec<char> = rights.chars().collect();
            let names: Vec<&str> = chars
                .chunks(2)
                .map(|c| lookup(RIGHTS, &c.iter().collect::<String>()).unwrap_or("null"))
                .collect();
            format!("[{}]", names.join(", "))
        }
        None => "null".to_string(),
    };
    (format!("{grantee} :{ty} ({perms})"), grantee)
}

static OWNER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^O:[A-Z]{2}").expect("regex"));
static GROUP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^G:[A-Z]{2}").expect("regex"));
static DACL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(D:([A-Z]*(\(.*\))*))").expect("regex"));
static SACL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(S:([A-Z]*(\(.*\))*))?$").expect("regex"));
static ACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\([^*)]*\)").expect("regex"));

/// `enrichSDDL` of one descriptor into `winlog.event_data.<sd>*`; the
/// grantees Elastic lists in `related.user` are pushed to `related`.
fn enrich(ev: &mut Event, sd: &str, sddl: &str, related: &mut Vec<String>) {
    let field = |suffix: &str| format!("winlog.event_data.{sd}{suffix}");
    if let Some(m) = OWNER.find(sddl) {
        ev.set(&field("Owner"), translate_sid(m.as_str()));
    }
    if let Some(m) = GROUP.find(sddl) {
        ev.set(&field("Group"), translate_sid(m.as_str()));
    }
    let mut list = |acl: &str, kind: &str, ev: &mut Event| {
        for (i, ace) in ACE.find_iter(acl).enumerate() {
            let (text, grantee) = translate_ace(ace.as_str().trim_matches(['(', ')']));
            ev.set(&field(&format!("{kind}{i}")), text);
            if ["Administrator", "Guest", "KRBTGT"].contains(&grantee.as_str())
                && !related.contains(&grantee)
            {
                related.push(grantee);
            }
        }
    };
    if let Some(m) = DACL.find(sddl) {
        list(m.as_str(), "Dacl", ev);
    }
    if let Some(m) = SACL.find(sddl) {
        list(m.as_str(), "Sacl", ev);
    }
}

/// Decodes `OldSd`, `NewSd` and `SidList` of a 4670, 4817, 4907 or 4908
/// record; returns the grantees for `related.user`.
pub(super) fn decode(
    ev: &mut Event,
    old_sd: Option<&str>,
    new_sd: Option<&str>,
    sid_list: Option<&str>,
) -> Vec<String> {
    let mut related = Vec::new();
    if let Some(sddl) = old_sd {
        enrich(ev, "OldSd", sddl, &mut related);
    }
    if let Some(sddl) = new_sd {
        enrich(ev, "NewSd", sddl, &mut related);
    }
    if let Some(sids) = sid_list.filter(|s| !s.trim().is_empty()) {
        let list: Vec<&str> = sids.split(' ').collect();
        let names: Vec<String> = list
            .iter()
            .map(|s| translate_sid(&s.replace(['%', '{', '}', ' '], "")))
            .collect();
        ev.set("winlog.event_data.SidList", list);
        ev.set("winlog.event_data.SidListDesc", names);
    }
    related
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in [ACCOUNT_SIDS, DOMAIN_RIDS, ACE_TYPES, RIGHTS] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn descriptors_decode_as_elastics_documents() {
        let mut ev = Event::default();
        let related = decode(
            &mut ev,
            Some("D:(A;;GA;;;SY)(A;;GA;;;NS)"),
            Some(
                "S:(AU;SA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1-2-3-500)(AU;SA;RC;;;S-1-5-21-1-2-3-1000)",
            ),
            None,
        );
        assert_eq!(
            ev.get_str("winlog.event_data.OldSdDacl0"),
            Some("Local system :Access Allowed ([Generic All])")
        );
        assert_eq!(
            ev.get_str("winlog.event_data.OldSdDacl1"),
            Some("Network service account :Access Allowed ([Generic All])")
        );
        assert_eq!(
            ev.get_str("winlog.event_data.NewSdSacl0"),
            Some(
                "Administrator :System Audit ([Create All Child Objects, Delete All Child Objects, List Contents, All Validated, Read All Properties, Write All Properties, Delete Subtree, List Object, All Extended Rights, Delete, Read Permissions, Modify Permissions, Modify Owner])"
            )
        );
        assert_eq!(
            ev.get_str("winlog.event_data.NewSdSacl1"),
            Some("null :System Audit ([Read Permissions])")
        );
        assert_eq!(related, ["Administrator"]);
        // a mask, an unknown alias, a short ACE, a SID list
        let mut ev = Event::default();
        decode(
            &mut ev,
            None,
            Some("O:BAG:SYD:(A;;0x10020000;;;OW)(A;;XY)"),
            Some("%{S-1-5-32-544} %{S-1-1-0}"),
        );
        assert_eq!(ev.get_str("winlog.event_data.NewSdOwner"), Some("O:BA"));
        assert_eq!(
            ev.get_str("winlog.event_data.NewSdDacl0"),
            Some("OW :Access Allowed ([Generic All, Read Control])")
        );
        assert_eq!(
            ev.get_str("winlog.event_data.NewSdDacl1"),
            Some("null :Access Allowed ([null])")
        );
        assert_eq!(
            ev.get("winlog.event_data.SidListDesc"),
            Some(&vec!["Administrators", "Everyone"].into())
        );
        // nothing that parses: nothing set, no panic
        let mut ev = Event::default();
        decode(&mut ev, Some("garbage(;;;"), Some(""), Some(" "));
        assert!(ev.get("winlog.event_data.OldSdDacl0").is_none());
        assert!(ev.get("winlog.event_data.SidList").is_none());
    }
}
