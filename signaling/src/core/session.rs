//! One live session and its participants (plain data with small queries).

use std::collections::HashMap;

use tandem_wire::{
    DisplayName, InviteToken, Label, ParticipantId, ParticipantInfo, ResumeToken, Role, SessionId,
    SessionInfo, SessionNumber,
};

use super::consent_log::ConsentLog;
use super::tool_log::ToolLog;
use super::{AgentId, ConnId, Path, PathKind, Timestamp};

/// A live session.
#[derive(Debug)]
pub(super) struct Session {
    pub id: SessionId,
    pub number: SessionNumber,
    pub session_type: Option<Label>,
    pub tracking_code: Option<Label>,
    pub invite_token: InviteToken,
    /// In order of arrival; the lobby is the participants with [`Role::Waiting`].
    pub participants: Vec<Participant>,
    /// The latest path each participant reported for its connection with another.
    pub paths: HashMap<(ParticipantId, ParticipantId), Path>,
    /// Consent records and participant reports taken so far, and who left.
    pub consent_log: ConsentLog,
    /// File transfer and system information records taken so far (issue 7).
    pub tool_log: ToolLog,
}

/// A participant (or a customer waiting in the lobby).
#[derive(Debug)]
pub(super) struct Participant {
    pub id: ParticipantId,
    pub name: DisplayName,
    pub role: Role,
    /// The CSR account, for CSRs.
    pub agent: Option<AgentId>,
    pub resume_token: ResumeToken,
    /// The live connection, or `None` while the grace period runs.
    pub conn: Option<ConnId>,
    /// When the grace period ends, while disconnected.
    pub grace_deadline: Option<Timestamp>,
}

impl Session {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            session_id: self.id,
            session_number: self.number,
            display_number: self.number.to_string(),
            session_type: self.session_type.clone(),
            tracking_code: self.tracking_code.clone(),
        }
    }

    pub fn get(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    pub fn get_mut(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|p| p.id == id)
    }

    /// The session's path kind: the most indirect path among its live connections.
    pub fn path_kind(&self) -> PathKind {
        self.paths.values().map(|p| p.kind()).max().unwrap_or(PathKind::Unknown)
    }

    pub fn remove(&mut self, id: ParticipantId) -> Option<Participant> {
        self.paths.retain(|(a, b), _| *a != id && *b != id);
        let i = self.participants.iter().position(|p| p.id == id)?;
        let p = self.participants.remove(i);
        if p.role != Role::Waiting {
            self.consent_log.remember_departed(p.id, p.name.clone(), p.role);
        }
        Some(p)
    }

    /// The role a newly admitted customer gets.
    pub fn role_for_new_customer(&self) -> Role {
        if self.participants.iter().any(|p| p.role == Role::PrimaryCustomer) {
            Role::SecondaryCustomer
        } else {
            Role::PrimaryCustomer
        }
    }

    /// After the primary customer left: the longest-present secondary customer becomes primary.
    pub fn promote_customer_if_needed(&mut self) {
        if self.participants.iter().any(|p| p.role == Role::PrimaryCustomer) {
            return;
        }
        if let Some(p) = self.participants.iter_mut().find(|p| p.role == Role::SecondaryCustomer) {
            p.role = Role::PrimaryCustomer;
        }
    }

    /// The participants list as `viewer` may see it: CSRs see the lobby, others do not.
    pub fn participant_list(&self, viewer: Role) -> Vec<ParticipantInfo> {
        self.participants
            .iter()
            .filter(|p| p.role != Role::Waiting || viewer.is_csr())
            .map(|p| ParticipantInfo {
                id: p.id,
                name: p.name.clone(),
                role: p.role,
                connected: p.conn.is_some(),
            })
            .collect()
    }
}
