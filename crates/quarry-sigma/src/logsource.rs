//! Log sources: what events a rule's `logsource` selects, per target.
//!
//! - Windows logs (EVTX and the JSON forms of the same records) are
//!   selected by channel and event id as the Sigma taxonomy defines
//!   (`process_creation` = Sysmon 1 or Security 4688, `service: security`
//!   = the Security channel, …); their fields are the log's own.
//! - Every other source is ECS: the generic categories select by
//!   `event.category` / `event.type`, restricted to events that are not
//!   Windows-native (no `winlog.channel`) so a Windows record is never
//!   matched twice, and to events not known to be of another OS than the
//!   rule's product.

use crate::rule::LogSource;

pub const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

/// Where a rule reads its events.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Windows(WindowsTarget),
    Ecs(EcsTarget),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowsTarget {
    /// Channel names (case-insensitive; `*` a wildcard).
    pub channels: Vec<&'static str>,
    /// Event ids (as quarry stores them: strings); empty: any.
    pub event_ids: Vec<&'static str>,
    /// Security 4688 read with Sysmon's names (see [`crate::fields`]).
    pub security_4688: bool,
    /// A further event-data test the taxonomy implies (registry event
    /// types): field and values.
    pub extra: Option<(&'static str, &'static [&'static str])>,
    /// The `event.category` quarry's Windows mapping gives these events,
    /// when it is certain.
    pub ecs_category: Option<&'static str>,
    /// The log names its event data with spaces (`Threat Name`) where
    /// Sigma writes them without (`ThreatName`): Defender's channel.
    pub spaced_names: bool,
    /// Sigma names this log writes otherwise (taxonomy fields of a generic
    /// category): (Sigma, log).
    pub renames: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, PartialEq)]
pub struct EcsTarget {
    /// The Sigma category (selects the field table).
    pub sigma_category: String,
    pub category: &'static str,
    /// `event.type` values (any of them); empty: any type.
    pub types: &'static [&'static str],
    /// A field the events must have (`dns.question.name` for DNS queries).
    pub requires: Option<&'static str>,
    /// The rule's product, when it names an OS: events known to be of
    /// another OS are left out.
    pub os: Option<&'static str>,
}

impl Target {
    /// A short name for listings (`sysmon 1`, `security 4688`, `ecs process/start`).
    pub fn describe(&self) -> String {
        match self {
            Target::Windows(w) => {
                let ch = if w.channels == [SYSMON] {
                    "sysmon".to_string()
                } else {
                    w.channels.join("|")
                };
                if w.event_ids.is_empty() {
                    ch
                } else {
                    format!("{ch} {}", w.event_ids.join(","))
                }
            }
            Target::Ecs(e) => {
                if e.types.is_empty() {
                    format!("ecs {}", e.category)
                } else {
                    format!("ecs {}/{}", e.category, e.types.join(","))
                }
            }
        }
    }
}

fn sysmon(ids: &[&'static str], cat: Option<&'static str>) -> WindowsTarget {
    WindowsTarget {
        channels: vec![SYSMON],
        event_ids: ids.to_vec(),
        security_4688: false,
        extra: None,
        ecs_category: cat,
        spaced_names: false,
        renames: &[],
    }
}

fn channel(ch: &'static str, ids: &[&'static str]) -> WindowsTarget {
    WindowsTarget {
        channels: vec![ch],
        event_ids: ids.to_vec(),
        security_4688: false,
        extra: None,
        ecs_category: None,
        spaced_names: false,
        renames: &[],
    }
}

/// The Windows channel of a Sigma `service` (pySigma's table).
pub fn service_channels(service: &str) -> Option<Vec<&'static str>> {
    Some(match service {
        "security" => vec!["Security"],
        "system" => vec!["System"],
        "application" => vec!["Application"],
        "sysmon" => vec![SYSMON],
        "powershell" => vec!["Microsoft-Windows-PowerShell/Operational"],
        "powershell-classic" => vec!["Windows PowerShell"],
        "taskscheduler" => vec!["Microsoft-Windows-TaskScheduler/Operational"],
        "wmi" => vec!["Microsoft-Windows-WMI-Activity/Operational"],
        "dns-server" => vec!["DNS Server"],
        "dns-server-audit" => vec!["Microsoft-Windows-DNS-Server/Audit"],
        "dns-server-analytic" => vec!["Microsoft-Windows-DNS-Server/Analytical"],
        "dns-client" => vec!["Microsoft-Windows-DNS Client Events/Operational"],
        "driver-framework" => vec!["Microsoft-Windows-DriverFrameworks-UserMode/Operational"],
        "ntlm" => vec!["Microsoft-Windows-NTLM/Operational"],
        "dhcp" => vec!["Microsoft-Windows-DHCP-Server/Operational"],
        "msexchange-management" => vec!["MSExchange Management"],
        "applocker" => vec![
            "Microsoft-Windows-AppLocker/MSI and Script",
            "Microsoft-Windows-AppLocker/EXE and DLL",
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
        ],
        "printservice-admin" => vec!["Microsoft-Windows-PrintService/Admin"],
        "printservice-operational" => vec!["Microsoft-Windows-PrintService/Operational"],
        "codeintegrity-operational" => vec!["Microsoft-Windows-CodeIntegrity/Operational"],
        "smbclient-security" => vec!["Microsoft-Windows-SmbClient/Security"],
        "smbclient-connectivity" => vec!["Microsoft-Windows-SmbClient/Connectivity"],
        "smbserver-connectivity" => vec!["Microsoft-Windows-SMBServer/Connectivity"],
        "firewall-as" => {
            vec!["Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"]
        }
        "bits-client" => vec!["Microsoft-Windows-Bits-Client/Operational"],
        "windefend" => vec!["Microsoft-Windows-Windows Defender/Operational"],
        "terminalservices-localsessionmanager" => {
            vec!["Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"]
        }
        "microsoft-servicebus-client" => vec!["Microsoft-ServiceBus-Client"],
        "ldap_debug" | "ldap" => vec!["Microsoft-Windows-LDAP-Client/Debug"],
        "security-mitigations" => vec![
            "Microsoft-Windows-Security-Mitigations/Kernel Mode",
            "Microsoft-Windows-Security-Mitigations/User Mode",
        ],
        "diagnosis-scripted" => vec!["Microsoft-Windows-Diagnosis-Scripted/Operational"],
        "shell-core" => vec!["Microsoft-Windows-Shell-Core/Operational"],
        "openssh" => vec!["OpenSSH/Operational"],
        "bitlocker" => vec!["Microsoft-Windows-BitLocker/BitLocker Management"],
        "vhdmp" => vec!["Microsoft-Windows-VHDMP/Operational"],
        "appxdeployment-server" => vec!["Microsoft-Windows-AppXDeploymentServer/Operational"],
        "appxpackaging-om" => vec!["Microsoft-Windows-AppxPackaging/Operational"],
        "lsa-server" => vec!["Microsoft-Windows-LSA/Operational"],
        "capi2" => vec!["Microsoft-Windows-CAPI2/Operational"],
        "certificateservicesclient-lifecycle-system" => {
            vec!["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"]
        }
        "iis-configuration" => vec!["Microsoft-IIS-Configuration/Operational"],
        "hyper-v-worker" => vec!["Microsoft-Windows-Hyper-V-Worker"],
        "kernel-shimengine" => vec!["Microsoft-Windows-Kernel-ShimEngine/Operational"],
        "ntfs" => vec!["Microsoft-Windows-Ntfs/Operational"],
        "sysmon-error" => vec![SYSMON],
        "wmi-activity" => vec!["Microsoft-Windows-WMI-Activity/Operational"],
        "kernel-event-tracing" => vec!["Microsoft-Windows-Kernel-EventTracing/Admin"],
        "rdp-client" | "terminalservices-rdpclient" => {
            vec!["Microsoft-Windows-TerminalServices-RDPClient/Operational"]
        }
        "remoteconnectionmanager" | "terminalservices-remoteconnectionmanager" => {
            vec!["Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"]
        }
        "appmodel-runtime" => vec!["Microsoft-Windows-AppModel-Runtime/Admin"],
        "user-device-registration" => vec!["Microsoft-Windows-User Device Registration/Admin"],
        _ => return None,
    })
}

/// ECS event selection for a generic category.
fn ecs(category: &str, os: Option<&'static str>) -> Option<EcsTarget> {
    let (cat, types, requires): (&'static str, &'static [&'static str], _) = match category {
        "process_creation" => ("process", &["start"], None),
        "process_termination" => ("process", &["end"], None),
        "network_connection" => ("network", &[], None),
        "dns_query" | "dns" => ("network", &[], Some("dns.question.name")),
        "file_event" => ("file", &["creation"], None),
        "file_change" => ("file", &["change"], None),
        "file_delete" => ("file", &["deletion"], None),
        "registry_set" => ("registry", &["change"], None),
        "registry_add" => ("registry", &["creation"], None),
        "registry_delete" => ("registry", &["deletion"], None),
        "registry_event" => ("registry", &[], None),
        "image_load" => ("library", &[], None),
        "driver_load" => ("driver", &[], None),
        _ => return None,
    };
    Some(EcsTarget {
        sigma_category: category.to_string(),
        category: cat,
        types,
        requires,
        os,
    })
}

/// The targets of a log source; an error says why it has none.
pub fn targets(ls: &LogSource) -> Result<Vec<Target>, String> {
    let product = ls.product.as_deref();
    let os = match product {
        Some("windows") => Some("windows"),
        Some("linux") => Some("linux"),
        Some("macos") => Some("macos"),
        _ => None,
    };
    let windows = matches!(product, Some("windows") | None);
    let mut out = Vec::new();
    if let Some(cat) = ls.category.as_deref() {
        if windows {
            const REG_ADD: &[&str] = &["CreateKey"];
            const REG_DEL: &[&str] = &["DeleteKey", "DeleteValue"];
            let w = match cat {
                "process_creation" => {
                    out.push(Target::Windows(sysmon(&["1"], Some("process"))));
                    Some(WindowsTarget {
                        security_4688: true,
                        ecs_category: Some("process"),
                        ..channel("Security", &["4688"])
                    })
                }
                "file_change" => Some(sysmon(&["2"], None)),
                "network_connection" => Some(sysmon(&["3"], Some("network"))),
                "sysmon_status" => Some(sysmon(&["4", "16"], None)),
                "process_termination" => Some(sysmon(&["5"], None)),
                "driver_load" => Some(sysmon(&["6"], None)),
                "image_load" => Some(sysmon(&["7"], None)),
                "create_remote_thread" => Some(sysmon(&["8"], None)),
                "raw_access_thread" => Some(sysmon(&["9"], None)),
                "process_access" => Some(sysmon(&["10"], None)),
                "file_event" => Some(sysmon(&["11"], Some("file"))),
                "registry_add" => Some(WindowsTarget {
                    extra: Some(("EventType", REG_ADD)),
                    ..sysmon(&["12"], Some("registry"))
                }),
                "registry_delete" => Some(WindowsTarget {
                    extra: Some(("EventType", REG_DEL)),
                    ..sysmon(&["12"], Some("registry"))
                }),
                "registry_set" => Some(sysmon(&["13"], Some("registry"))),
                "registry_rename" => Some(sysmon(&["14"], Some("registry"))),
                "registry_event" => Some(sysmon(&["12", "13", "14"], Some("registry"))),
                "create_stream_hash" => Some(sysmon(&["15"], None)),
                "pipe_created" => Some(sysmon(&["17", "18"], None)),
                "wmi_event" => Some(sysmon(&["19", "20", "21"], None)),
                "dns_query" => Some(sysmon(&["22"], Some("network"))),
                "file_delete" => Some(sysmon(&["23", "26"], None)),
                "clipboard_capture" => Some(sysmon(&["24"], None)),
                "process_tampering" => Some(sysmon(&["25"], None)),
                "file_executable_detected" => Some(sysmon(&["29"], None)),
                "file_block_executable" => Some(sysmon(&["27"], None)),
                "file_block_shredding" => Some(sysmon(&["28"], None)),
                "sysmon_error" => Some(sysmon(&["255"], None)),
                "ps_module" => Some(channel(
                    "Microsoft-Windows-PowerShell/Operational",
                    &["4103"],
                )),
                "ps_script" => Some(channel(
                    "Microsoft-Windows-PowerShell/Operational",
                    &["4104"],
                )),
                "ps_classic_start" => Some(channel("Windows PowerShell", &["400"])),
                "ps_classic_provider_start" => Some(channel("Windows PowerShell", &["600"])),
                "ps_classic_script" => Some(channel("Windows PowerShell", &["800"])),
                // the taxonomy's antivirus detections, as Defender logs them
                // (detected, action taken, failed, suspicious behaviour)
                "antivirus" => Some(WindowsTarget {
                    spaced_names: true,
                    renames: &[("Signature", "ThreatName"), ("Filename", "Path")],
                    ..channel(
                        "Microsoft-Windows-Windows Defender/Operational",
                        &["1006", "1015", "1116", "1117", "1118", "1119"],
                    )
                }),
                _ => None,
            };
            out.extend(w.map(Target::Windows));
        }
        if let Some(e) = ecs(cat, os) {
            out.push(Target::Ecs(e));
        }
        if out.is_empty() {
            return Err(format!("no quarry source for logsource {}", describe(ls)));
        }
        return Ok(out);
    }
    match (product, ls.service.as_deref()) {
        (Some("windows"), Some(s)) => match service_channels(s) {
            Some(chs) => Ok(vec![Target::Windows(WindowsTarget {
                channels: chs,
                event_ids: Vec::new(),
                security_4688: false,
                extra: None,
                ecs_category: None,
                spaced_names: s == "windefend",
                renames: &[],
            })]),
            None => Err(format!("unknown Windows service `{s}`")),
        },
        // `product: windows` alone: every Windows log (keyword rules such as
        // the Mimikatz strings); any channel
        (Some("windows"), None) => Ok(vec![Target::Windows(WindowsTarget {
            ecs_category: None,
            ..channel("*", &[])
        })]),
        _ => Err(format!("no quarry source for logsource {}", describe(ls))),
    }
}

/// `product/category/service` as written, for messages.
pub fn describe(ls: &LogSource) -> String {
    [&ls.product, &ls.category, &ls.service]
        .iter()
        .map(|x| x.as_deref().unwrap_or("-"))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> LogSource {
        LogSource {
            product: p.map(str::to_string),
            category: c.map(str::to_string),
            service: s.map(str::to_string),
        }
    }

    #[test]
    fn taxonomy() {
        let t = targets(&ls(Some("windows"), Some("process_creation"), None)).expect("targets");
        let d: Vec<String> = t.iter().map(Target::describe).collect();
        assert_eq!(d, ["sysmon 1", "Security 4688", "ecs process/start"]);
        let t = targets(&ls(Some("windows"), None, Some("security"))).expect("targets");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].describe(), "Security");
        let t = targets(&ls(Some("windows"), Some("ps_script"), None)).expect("targets");
        assert_eq!(
            t[0].describe(),
            "Microsoft-Windows-PowerShell/Operational 4104"
        );
        let t = targets(&ls(Some("linux"), Some("process_creation"), None)).expect("targets");
        assert_eq!(t.len(), 1);
        assert!(matches!(&t[0], Target::Ecs(e) if e.os == Some("linux")));
        assert!(targets(&ls(Some("aws"), None, Some("cloudtrail"))).is_err());
        assert!(targets(&ls(Some("windows"), None, Some("nope"))).is_err());
        let t = targets(&ls(Some("windows"), None, None)).expect("targets");
        assert_eq!(t[0].describe(), "*");
        let t = targets(&ls(Some("windows"), Some("registry_delete"), None)).expect("targets");
        assert!(matches!(&t[0], Target::Windows(w) if w.extra.is_some()));
    }
}
