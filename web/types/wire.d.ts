// Generated from the Rust definitions in wire/src by wire/tests/typescript.rs. Do not edit.
// Regenerate: TANDEM_UPDATE_WIRE_TS=1 cargo test -p tandem-wire --test typescript

/** The protocol version every message carries as `v`. */
export const PROTOCOL_VERSION: 1;
/** Largest text frame either side accepts, in bytes. */
export const MAX_MESSAGE_BYTES: 65536;

/** A message as sent on the wire: the message plus `"v": 1`. */
export type Versioned<T> = T & { v: 1 };

export type ClientMessage = { "type": "create_session", token: AuthToken, session_type?: Label, tracking_code?: Label, } | { "type": "join", session_number: SessionNumber, name: DisplayName, invite_token?: InviteToken, } | { "type": "assist", token: AuthToken, session_number: SessionNumber, } | { "type": "resume", resume_token: ResumeToken, } | { "type": "admit", participant_id: ParticipantId, } | { "type": "refuse", participant_id: ParticipantId, } | { "type": "offer", to: ParticipantId, sdp: Sdp, } | { "type": "answer", to: ParticipantId, sdp: Sdp, } | { "type": "candidate", to: ParticipantId, ice: IceCandidate, } | { "type": "leave", } | { "type": "end_session", notes?: Notes, } | { "type": "save_notes", notes: Notes, } | { "type": "path_report", with: ParticipantId, local: CandidateType, remote: CandidateType, protocol: PathProtocol, } | { "type": "consent_record", with: ParticipantId, capability: Capability, 
/**
 * Who asked: `true` when `with` asked the sender, `false` when the sender asked `with`.
 */
incoming: boolean, outcome: ConsentOutcome, } | { "type": "report_participant", about: ParticipantId, } | { "type": "tool_record", with: ParticipantId, record: ToolRecord, } | { "type": "refresh_ice_servers", } | { "type": "ping", nonce?: number, };

export type ServerMessage = { "type": "hello", server: string, protocol: number, max_message_bytes: number, 
/**
 * Send something (a `ping` will do) at least this often.
 */
keepalive_secs: number, 
/**
 * Optional features this server has enabled.
 */
features: Features, 
/**
 * The organisation that runs this site, as its operator configured it.
 * Its CSRs work for it: consent prompts name it next to a CSR's name.
 */
organisation?: DisplayName, } | { "type": "session_created", session: SessionInfo, participant_id: ParticipantId, resume_token: ResumeToken, invite_token: InviteToken, 
/**
 * The join link for customers (SES-2); it carries the invite token.
 */
invite_link: string, ice_servers: Array<IceServer>, } | { "type": "lobby", session_number: SessionNumber, participant_id: ParticipantId, resume_token: ResumeToken, } | { "type": "joined", session: SessionInfo, participant_id: ParticipantId, role: Role, resume_token: ResumeToken, ice_servers: Array<IceServer>, } | { "type": "refused", } | { "type": "resumed", session: SessionInfo, participant_id: ParticipantId, role: Role, ice_servers: Array<IceServer>, } | { "type": "participants", participants: Array<ParticipantInfo>, } | { "type": "offer", from: ParticipantId, sdp: Sdp, } | { "type": "answer", from: ParticipantId, sdp: Sdp, } | { "type": "candidate", from: ParticipantId, ice: IceCandidate, } | { "type": "session_ended", reason: EndReason, } | { "type": "notes_saved", 
/**
 * When they were saved, Unix milliseconds.
 */
saved_at: number, } | { "type": "path_reported", from: ParticipantId, with: ParticipantId, local: CandidateType, remote: CandidateType, protocol: PathProtocol, } | { "type": "ice_servers", ice_servers: Array<IceServer>, } | { "type": "pong", nonce?: number, } | { "type": "error", code: ErrorCode, message: string, 
/**
 * The `"type"` of the message this answers, when it could be read.
 */
in_reply_to?: string, };

export type ChatText = string;

export type SessionNumber = string;

export type ParticipantId = string;

export type SessionId = string;

export type DisplayName = string;

export type Label = string;

export type AuthToken = string;

export type InviteToken = string;

export type ResumeToken = string;

export type Notes = string;

export type Sdp = string;

export type IceText = string;

export type IceCandidate = { candidate: IceText, sdpMid?: IceText, sdpMLineIndex?: number, usernameFragment?: IceText, };

export type IceServer = { urls: Array<string>, username?: string, credential?: string, };

export type Features = { 
/**
 * The server can send invitation e-mails (`POST /api/v1/invitations`, SES-2):
 * the operator configured SMTP.
 */
email_invitations: boolean, };

export type CandidateType = "host" | "srflx" | "prflx" | "relay";

export type PathProtocol = "udp" | "tcp" | "tls";

export type ConsentOutcome = "allowed" | "denied" | "denied_by_policy" | "timed_out" | "revoked" | "stopped" | "gone";

export type ToolRecord = { "what": "file_access", outcome: ConsentOutcome, } | { "what": "transfer", direction: TransferDirection, 
/**
 * The file or folder, as the customer was asked about it.
 */
item: ItemName, files: number, bytes: number, outcome: TransferOutcome, } | { "what": "system_info", outcome: ConsentOutcome, report?: SystemReport, };

export type TransferDirection = "download" | "upload";

export type TransferOutcome = "denied" | "completed" | "cancelled" | "failed";

export type ItemName = string;

export type SessionInfo = { session_id: SessionId, session_number: SessionNumber, 
/**
 * The number grouped for reading out: `123 456 789`.
 */
display_number: string, session_type?: Label, tracking_code?: Label, };

export type ParticipantInfo = { id: ParticipantId, name: DisplayName, role: Role, 
/**
 * False while the participant's connection is lost and the server waits for it to resume.
 */
connected: boolean, };

export type Role = "primary_csr" | "assistant_csr" | "primary_customer" | "secondary_customer" | "waiting";

export type EndReason = "ended_by_csr" | "primary_csr_left" | "primary_csr_timed_out" | "server_shutdown" | "interrupted";

export type ErrorCode = "bad_json" | "unsupported_version" | "unknown_type" | "bad_message" | "rate_limited" | "join_rate_limited" | "unauthorized" | "session_unavailable" | "session_full" | "not_allowed" | "not_in_session" | "already_in_session" | "unknown_participant" | "resume_failed" | "internal";

export type ChatMessage = { "type": "chat", text: ChatText, 
/**
 * The chosen recipients ("send to"); empty means everyone in the session.
 */
to: Array<ParticipantId>, 
/**
 * When it was sent, Unix milliseconds (the sender's clock).
 */
sent_at: number, };

export type RequestId = number;

export type Capability = "view_desktop" | "control_desktop" | "view_application" | "control_application" | "share_view" | "share_control";

export type ConsentMessage = { "type": "request", request_id: RequestId, capability: Capability, } | { "type": "decision", request_id: RequestId, allowed: boolean, } | { "type": "stop", request_id: RequestId, } | { "type": "revoke", request_id: RequestId, };

export type MediaSource = "microphone" | "camera" | "screen";

export type StreamId = string;

export type DisplayMode = "standard" | "screen_sampling";

export type MediaMessage = { "type": "stream", stream_id: StreamId, source: MediaSource, } | { "type": "stream_ended", stream_id: StreamId, } | { "type": "set_display_mode", mode: DisplayMode, };

export type FileId = number;

export type TransferId = number;

export type FileName = string;

export type Sha256Hex = string;

export type FileEntry = { file_id: FileId, 
/**
 * Shown as text, never as HTML; used as the suggested name when saving.
 */
name: FileName, 
/**
 * Bytes.
 */
size: number, };

export type FileErrorCode = "unknown_file" | "read_failed" | "bad_message";

export type FileMessage = { "type": "offer", files: Array<FileEntry>, } | { "type": "request", file_id: FileId, } | { "type": "metadata", file_id: FileId, name: FileName, size: number, } | { "type": "done", sha256: Sha256Hex, } | { "type": "cancel", } | { "type": "error", code: FileErrorCode, };

export type Point = { x: number, y: number, };

export type MouseButton = "left" | "middle" | "right" | "back" | "forward";

export type Lines = number;

export type KeyCode = string;

export type KeyText = string;

export type ControlMessage = { "type": "motion", at: Point, seq: number, } | { "type": "button", at: Point, button: MouseButton, down: boolean, } | { "type": "wheel", at: Point, dx: Lines, dy: Lines, } | { "type": "key", code: KeyCode, down: boolean, text?: KeyText, };

export type EntryName = string;

export type RelativePath = string;

export type RootId = number;

export type RemotePath = { root: RootId, path: RelativePath, };

export type RootLabel = string;

export type Root = { root_id: RootId, label: RootLabel, };

export type EntryKind = "file" | "dir" | "symlink" | "other";

export type DirEntry = { name: EntryName, kind: EntryKind, 
/**
 * Bytes (of the link itself for a symbolic link, 0 for a folder).
 */
size: number, 
/**
 * Last modification, Unix milliseconds; absent when unknown.
 */
modified?: number, };

export type ItemKind = "file" | "dir";

export type ManifestEntry = { 
/**
 * Relative to the folder the transfer lands in; for a single file, its name.
 */
path: RelativePath, kind: ItemKind, 
/**
 * Bytes; 0 for a folder.
 */
size: number, 
/**
 * Last modification, Unix milliseconds; absent when unknown. The sender
 * checks size and time again before resuming a file.
 */
modified?: number, };

export type TransferErrorCode = "denied" | "not_found" | "outside_roots" | "not_a_directory" | "unsupported_kind" | "too_large" | "exists" | "busy" | "hash_mismatch" | "application_sharing_active" | "changed" | "read_failed" | "write_failed" | "unknown_transfer" | "not_open" | "ended" | "bad_message" | "other";

export type ListId = number;

export type RemoteFilesMessage = { "type": "open", } | { "type": "opened", roots: Array<Root>, 
/**
 * The host's cap on one transfer's total size, in bytes.
 */
max_transfer_bytes: number, } | { "type": "list", list_id: ListId, path: RemotePath, } | { "type": "listing", list_id: ListId, entries: Array<DirEntry>, last: boolean, unlisted: number, } | { "type": "list_failed", list_id: ListId, code: TransferErrorCode, } | { "type": "close", } | { "type": "closed", code: TransferErrorCode, };

export type TransferMessage = { "type": "download", path: RemotePath, } | { "type": "upload", folder: RemotePath, overwrite: boolean, } | { "type": "resume", } | { "type": "manifest", entries: Array<ManifestEntry>, last: boolean, skipped: number, } | { "type": "start", index: number, offset: number, prefix_sha256?: Sha256Hex, } | { "type": "file_begin", index: number, offset: number, } | { "type": "file_end", index: number, sha256: Sha256Hex, } | { "type": "ack", index: number, offset: number, } | { "type": "cancel", } | { "type": "error", code: TransferErrorCode, };

export type InfoText = string;

export type MacAddress = string;

export type InfoRequestId = number;

export type CpuInfo = { brand?: InfoText, vendor?: InfoText, 
/**
 * Logical processors (hardware threads).
 */
logical_cores: number, physical_cores?: number, frequency_mhz?: number, };

export type MemoryInfo = { total_bytes: number, available_bytes: number, swap_total_bytes: number, swap_free_bytes: number, };

export type DiskKind = "hdd" | "ssd" | "unknown";

export type DiskInfo = { name?: InfoText, mount_point?: InfoText, file_system?: InfoText, kind: DiskKind, removable: boolean, total_bytes: number, available_bytes: number, };

export type DisplayInfo = { width: number, height: number, width_mm?: number, height_mm?: number, };

export type InterfaceAddress = { address: string, prefix: number, };

export type InterfaceInfo = { name: InfoText, mac?: MacAddress, addresses: Array<InterfaceAddress>, };

export type SystemReport = { 
/**
 * When it was collected, Unix milliseconds (the customer's clock).
 */
collected_at: number, host_name?: InfoText, 
/**
 * For example `Debian GNU/Linux`.
 */
os_name?: InfoText, 
/**
 * For example `12 (bookworm)`.
 */
os_version?: InfoText, kernel_version?: InfoText, 
/**
 * For example `x86_64`.
 */
architecture?: InfoText, uptime_seconds?: number, cpu?: CpuInfo, memory: MemoryInfo, disks: Array<DiskInfo>, displays: Array<DisplayInfo>, interfaces: Array<InterfaceInfo>, };

export type InfoRefusal = "denied" | "unsupported" | "busy" | "other";

export type SystemInfoMessage = { "type": "request", request_id: InfoRequestId, } | { "type": "report", request_id: InfoRequestId, report: SystemReport, } | { "type": "refused", request_id: InfoRequestId, reason: InfoRefusal, };
