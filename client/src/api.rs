//! Typed client of the `recert.v1` API: the only module (with `api::convert`) that sees
//! generated proto types. Commands call methods here and get the client's own records back.

mod convert;
mod transport;

use std::future::Future;
use std::time::Duration;

use jiff::civil::Date;
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_client::AlertServiceClient;
use recert_proto::v1::backup_service_client::BackupServiceClient;
use recert_proto::v1::channel_service_client::ChannelServiceClient;
use recert_proto::v1::competency_service_client::CompetencyServiceClient;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::history_service_client::HistoryServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_proto::v1::roster_service_client::RosterServiceClient;
use recert_proto::v1::team_service_client::TeamServiceClient;
use recert_proto::v1::token_service_client::TokenServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::error::{Error, Violation};
use crate::model::{
    Alert, AlertChannel, AlertQuery, Compliance, Course, CourseChanges, Credential,
    CredentialChanges, CredentialMute, Deadline, DeadlineQuery, HistoryEntry, Holder,
    HolderChanges, ImportReport, NewChannel, NewCourse, NewCredential, NewHolder, NewTokenSecret,
    Program, ProgramDraft, ProgramEdit, ProgramReset, ScopeSettings, Team, TeamStatusQuery,
    TeamStatusRow, TestAlertReport, TokenInfo,
};

/// "" as `None`.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn token_info(t: pb::Token) -> TokenInfo {
    TokenInfo {
        id: t.id,
        name: non_empty(t.name),
        role: t.role,
        holder_id: non_empty(t.holder_id),
        expires_at: non_empty(t.expires_at),
        revoked_at: non_empty(t.revoked_at),
    }
}

fn team(t: pb::Team) -> Team {
    Team {
        id: t.id,
        name: t.name,
        member_ids: t.member_ids,
        lead_ids: t.lead_ids,
    }
}

/// How long to wait for the TCP (and HTTP/2) connection before calling the daemon unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Upper bound on one request, so a wedged daemon does not hang a script forever.
///
/// For a server stream (`WatchAlerts`) it bounds only the wait for the reply headers; the
/// stream itself may stay open as long as the daemon keeps it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often to ping the daemon while a call is open, so a long `alerts watch` notices a
/// connection that died silently (a suspended laptop, a dropped network) and reconnects.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long to wait for the answer to a ping before calling the connection dead.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Items asked for per page when following `next_page_token`.
const PAGE_SIZE: usize = 100;

/// The holder id every RPC resolves to the default holder.
pub const DEFAULT_HOLDER: &str = "default";

/// A connection to recertd with one typed method per RPC the CLI uses.
///
/// The generated clients share one HTTP/2 channel; they are cloned per call because tonic
/// clients need `&mut self` and cloning one is a reference-count bump.
#[derive(Clone)]
pub struct Api {
    server: String,
    holders: HolderServiceClient<Conn>,
    programs: ProgramServiceClient<Conn>,
    credentials: CredentialServiceClient<Conn>,
    courses: CourseServiceClient<Conn>,
    compliance: ComplianceServiceClient<Conn>,
    alerts: AlertServiceClient<Conn>,
    channels: ChannelServiceClient<Conn>,
    backups: BackupServiceClient<Conn>,
    tokens: TokenServiceClient<Conn>,
    teams: TeamServiceClient<Conn>,
    history: HistoryServiceClient<Conn>,
    competency: CompetencyServiceClient<Conn>,
    roster: RosterServiceClient<Conn>,
}

/// The channel every client shares, each call carrying the bearer token.
type Conn = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call (when a token was found): the one
/// place the CLI authenticates.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// The header for `token`; refused when it cannot be a header value.
    pub fn new(token: Option<&str>) -> Result<Self, Error> {
        token
            .map(|t| {
                format!("Bearer {}", t.trim()).parse().map_err(|_| {
                    Error::Usage(
                        "the token (--token or RECERT_TOKEN) has characters a token never has"
                            .into(),
                    )
                })
            })
            .transpose()
            .map(Bearer)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

impl Api {
    /// Connects to the daemon at `server` (e.g. `http://127.0.0.1:50051`, or `https://…`
    /// verified against the PEM CA certificate at `ca`).
    ///
    /// Connecting eagerly means a daemon that is not running is reported once, clearly, as
    /// [`Error::Unreachable`] (or a certificate it cannot verify as [`Error::Tls`]) instead
    /// of as a transport error on the first call. `token` goes with every call.
    pub async fn connect(
        server: &str,
        ca: Option<&std::path::Path>,
        token: Option<&str>,
    ) -> Result<Self, Error> {
        let bearer = Bearer::new(token)?;
        let base = transport::endpoint(server, ca)?
            .connect_timeout(CONNECT_TIMEOUT)
            .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .keep_alive_timeout(KEEP_ALIVE_TIMEOUT);
        let channel = base
            .clone()
            .timeout(REQUEST_TIMEOUT)
            .connect()
            .await
            .map_err(|e| transport::connect_error(server, &e))?;
        // Exports and imports of a large store outlast REQUEST_TIMEOUT: their own
        // connection, opened when first used, bounded by the keep-alives instead (a dead
        // daemon is still noticed).
        let bulk = base.connect_lazy();
        Ok(Self {
            server: server.to_owned(),
            holders: HolderServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            programs: ProgramServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            credentials: CredentialServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            courses: CourseServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            compliance: ComplianceServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            alerts: AlertServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            backups: BackupServiceClient::with_interceptor(bulk, bearer.clone()),
            tokens: TokenServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            history: HistoryServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            teams: TeamServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            competency: CompetencyServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            roster: RosterServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            channels: ChannelServiceClient::with_interceptor(channel, bearer),
        })
    }

    /// Fetches one holder by id.
    pub async fn holder(&self, id: &str) -> Result<Holder, Error> {
        let request = pb::GetHolderRequest { id: id.to_owned() };
        let holder = self.holders.clone().get_holder(request).await;
        Ok(self.check(holder)?.into())
    }

    /// Fetches the default holder; [`Error::NoHolder`] when none exists yet.
    pub async fn default_holder(&self) -> Result<Holder, Error> {
        match self.holder(DEFAULT_HOLDER).await {
            Err(Error::Server {
                code: Code::NotFound,
                ..
            }) => Err(Error::NoHolder),
            other => other,
        }
    }

    /// Lists holders, all of them or the first `limit`.
    pub async fn holders(&self, limit: Option<usize>) -> Result<Vec<Holder>, Error> {
        self.paginate(limit, |page_size, page_token| {
            let mut client = self.holders.clone();
            async move {
                let request = pb::ListHoldersRequest {
                    page_size,
                    page_token,
                };
                let page = client.list_holders(request).await?.into_inner();
                Ok((page.holders, page.next_page_token))
            }
        })
        .await
    }

    /// Creates a holder; the server makes the first one the default.
    pub async fn create_holder(&self, holder: NewHolder) -> Result<Holder, Error> {
        let request = pb::CreateHolderRequest {
            holder: Some(holder.into()),
        };
        let holder = self.holders.clone().create_holder(request).await;
        Ok(self.check(holder)?.into())
    }

    /// Changes a holder's fields or makes it the default.
    pub async fn update_holder(&self, id: &str, changes: HolderChanges) -> Result<Holder, Error> {
        let request = convert::update_holder(id, changes);
        let holder = self.holders.clone().update_holder(request).await;
        Ok(self.check(holder)?.into())
    }

    /// Imports a roster in one request (or checks it, with `dry_run`).
    pub async fn import_roster(
        &self,
        rows: Vec<crate::model::RosterRow>,
        dry_run: bool,
    ) -> Result<crate::model::RosterReport, Error> {
        let rows = rows
            .into_iter()
            .map(|r| pb::RosterRow {
                line: r.line,
                name: r.name,
                email: r.email,
                time_zone: r.time_zone,
                hired_on: r.hired_on,
                team: r.team,
                program: r.program,
                number: r.number,
                issued_on: r.issued_on,
                expires_on: r.expires_on,
            })
            .collect();
        let request = pb::ImportRosterRequest { rows, dry_run };
        let reply = self.check(self.roster.clone().import_roster(request).await)?;
        Ok(crate::model::RosterReport {
            dry_run: reply.dry_run,
            actions: reply
                .actions
                .into_iter()
                .map(|a| crate::model::RosterAction {
                    kind: a.kind,
                    outcome: a.outcome,
                    id: (a.id != "-" && !a.id.is_empty()).then_some(a.id),
                    description: a.description,
                    line: a.line,
                })
                .collect(),
        })
    }

    /// Records one competency assessment; answers where the skill stands now.
    pub async fn log_assessment(
        &self,
        new: crate::model::NewAssessment,
    ) -> Result<crate::model::CompetencyRow, Error> {
        let request = pb::LogAssessmentRequest {
            holder: new.holder,
            program: new.program,
            skill: new.skill,
            assessed_on: convert::date_or_empty(new.date),
            assessor: new.assessor,
            elements: new.elements,
            result: new.result,
            note: new.note.unwrap_or_default(),
        };
        let reply = self.competency.clone().log_assessment(request).await;
        Ok(self.check(reply)?.into())
    }

    /// Starts tracking a skill of a holder.
    pub async fn assign_competency(
        &self,
        holder: &str,
        program: &str,
        skill: &str,
    ) -> Result<crate::model::CompetencyRow, Error> {
        let request = pb::AssignCompetencyRequest {
            holder: holder.to_owned(),
            program: program.to_owned(),
            skill: skill.to_owned(),
        };
        let reply = self.competency.clone().assign_competency(request).await;
        Ok(self.check(reply)?.into())
    }

    /// Where the tracked skills of a holder, or of a team's members, stand.
    pub async fn competency_status(
        &self,
        holder: &str,
        team: Option<&str>,
    ) -> Result<Vec<crate::model::CompetencyRow>, Error> {
        let request = pb::ListCompetencyStatusRequest {
            holder: holder.to_owned(),
            team: team.unwrap_or_default().to_owned(),
        };
        let reply = self
            .competency
            .clone()
            .list_competency_status(request)
            .await;
        Ok(self
            .check(reply)?
            .rows
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The competency programs.
    pub async fn competency_programs(&self) -> Result<Vec<crate::model::CompetencyProgram>, Error> {
        let request = pb::ListCompetencyProgramsRequest {};
        let reply = self
            .competency
            .clone()
            .list_competency_programs(request)
            .await;
        Ok(self
            .check(reply)?
            .programs
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Stores a lab's competency program: `create` adds one (or replaces a built-in one),
    /// else the stored one of its slug is replaced.
    pub async fn put_competency_program(
        &self,
        program: crate::model::CompetencyProgram,
        create: bool,
    ) -> Result<crate::model::CompetencyProgram, Error> {
        let program = Some(program.into());
        let reply = if create {
            let request = pb::CreateCompetencyProgramRequest { program };
            self.competency
                .clone()
                .create_competency_program(request)
                .await
        } else {
            let request = pb::UpdateCompetencyProgramRequest { program };
            self.competency
                .clone()
                .update_competency_program(request)
                .await
        };
        Ok(self.check(reply)?.into())
    }

    /// Deletes a lab's competency program.
    pub async fn delete_competency_program(&self, slug: &str) -> Result<(), Error> {
        let request = pb::DeleteCompetencyProgramRequest {
            slug: slug.to_owned(),
        };
        let reply = self
            .competency
            .clone()
            .delete_competency_program(request)
            .await;
        self.check(reply).map(drop)
    }

    /// Deletes a holder; `force` also deletes its credentials and courses.
    pub async fn delete_holder(&self, id: &str, force: bool) -> Result<(), Error> {
        let request = pb::DeleteHolderRequest {
            id: id.to_owned(),
            force,
        };
        let reply = self.holders.clone().delete_holder(request).await;
        self.check(reply).map(drop)
    }

    /// Fetches one program (built-in, override or custom) by slug.
    pub async fn program(&self, slug: &str) -> Result<Program, Error> {
        let request = pb::GetProgramRequest {
            slug: slug.to_owned(),
        };
        let program = self.programs.clone().get_program(request).await;
        Ok(self.check(program)?.into())
    }

    /// Lists programs, all of them or the first `limit`.
    pub async fn programs(&self, limit: Option<usize>) -> Result<Vec<Program>, Error> {
        self.paginate(limit, |page_size, page_token| {
            let mut client = self.programs.clone();
            async move {
                let request = pb::ListProgramsRequest {
                    page_size,
                    page_token,
                };
                let page = client.list_programs(request).await?.into_inner();
                Ok((page.programs, page.next_page_token))
            }
        })
        .await
    }

    /// Creates a custom program, or a local override when the slug is built in.
    pub async fn create_program(&self, draft: ProgramDraft) -> Result<Program, Error> {
        let request = pb::CreateProgramRequest {
            program: Some(draft.into()),
        };
        let program = self.programs.clone().create_program(request).await;
        Ok(self.check(program)?.into())
    }

    /// Changes the rules `edit` sets. For a built-in program (or a partial override of one)
    /// the stored override names them as its local fields, so the rest keeps following the
    /// catalog; a custom program or a full override is changed as it is. Returns the program
    /// in force.
    pub async fn edit_program(&self, slug: &str, edit: ProgramEdit) -> Result<Program, Error> {
        let request = pb::GetProgramRequest {
            slug: slug.to_owned(),
        };
        let mut p = self.check(self.programs.clone().get_program(request).await)?;
        let mut fields: Vec<&str> = Vec::new();
        if let Some(v) = edit.cycle_months {
            p.cycle_months = v;
            fields.push("cycle_months");
        }
        if let Some(v) = edit.ce_window_months {
            p.ce_window_months = v;
            fields.push("ce_window_months");
        }
        if let Some(v) = edit.unit_hours {
            p.unit_hours_hundredths = v.hundredths();
            fields.push("unit_hours");
        }
        if let Some(v) = edit.required {
            p.required_hundredths = v.hundredths();
            fields.push("required");
        }
        if let Some(v) = edit.category_minimums {
            p.category_minimums = v.into_iter().map(Into::into).collect();
            fields.push("category_minimums");
        }
        if let Some(v) = edit.caps {
            p.caps = v.into_iter().map(Into::into).collect();
            fields.push("caps");
        }
        if let Some(v) = edit.grace_days {
            p.grace_days = v;
            fields.push("grace_days");
        }
        if let Some(v) = edit.shares_courses {
            p.shares_courses = v;
            fields.push("shares_courses");
        }
        if let Some(v) = edit.accepted_accreditations {
            p.accepted_accreditations = v;
            fields.push("accepted_accreditations");
        }
        let partial = p.builtin || !p.local_fields.is_empty();
        if partial {
            for field in fields {
                if !p.local_fields.iter().any(|f| f == field) {
                    p.local_fields.push(field.to_owned());
                }
            }
        }
        let reply = if p.builtin {
            let request = pb::CreateProgramRequest { program: Some(p) };
            self.programs.clone().create_program(request).await
        } else {
            let request = pb::UpdateProgramRequest { program: Some(p) };
            self.programs.clone().update_program(request).await
        };
        Ok(self.check(reply)?.into())
    }

    /// Drops the local fields `fields` (all of them when empty) of a partial override of a
    /// built-in program; with none left, the override goes and the built-in program applies.
    pub async fn reset_program(
        &self,
        slug: &str,
        fields: &[String],
    ) -> Result<ProgramReset, Error> {
        let request = pb::GetProgramRequest {
            slug: slug.to_owned(),
        };
        let mut p = self.check(self.programs.clone().get_program(request).await)?;
        if !p.overrides_builtin {
            let why = if p.builtin {
                "has no local rules"
            } else {
                "is not a built-in program (see: recert program remove)"
            };
            return Err(Error::Lookup(format!("program {slug} {why}")));
        }
        if p.local_fields.is_empty() && !fields.is_empty() {
            return Err(Error::Lookup(format!(
                "program {slug} is a full local override (program add): reset it whole with \
                 recert program reset {slug}"
            )));
        }
        if let Some(f) = fields.iter().find(|f| !p.local_fields.contains(f)) {
            return Err(Error::Lookup(format!(
                "--field {f}: not a local field of {slug} (local: {})",
                p.local_fields.join(", ")
            )));
        }
        let reset: Vec<String> = if fields.is_empty() {
            p.local_fields.clone()
        } else {
            fields.to_vec()
        };
        p.local_fields.retain(|f| !reset.contains(f));
        if p.local_fields.is_empty() {
            self.delete_program(slug).await?;
        } else {
            let request = pb::UpdateProgramRequest {
                program: Some(p.clone()),
            };
            self.check(self.programs.clone().update_program(request).await)?;
        }
        Ok(ProgramReset {
            slug: slug.to_owned(),
            reset,
            local_fields: p.local_fields,
        })
    }

    /// Deletes a local program; deleting an override restores the built-in one.
    pub async fn delete_program(&self, slug: &str) -> Result<(), Error> {
        let request = pb::DeleteProgramRequest {
            slug: slug.to_owned(),
        };
        let reply = self.programs.clone().delete_program(request).await;
        self.check(reply).map(drop)
    }

    /// Fetches one credential by id.
    pub async fn credential(&self, id: &str) -> Result<Credential, Error> {
        let request = pb::GetCredentialRequest { id: id.to_owned() };
        let credential = self.credentials.clone().get_credential(request).await;
        Ok(self.check(credential)?.into())
    }

    /// Lists a holder's credentials, all of them or the first `limit`.
    pub async fn credentials(
        &self,
        holder_id: &str,
        limit: Option<usize>,
    ) -> Result<Vec<Credential>, Error> {
        self.paginate(limit, |page_size, page_token| {
            let mut client = self.credentials.clone();
            let holder_id = holder_id.to_owned();
            async move {
                let request = pb::ListCredentialsRequest {
                    holder_id,
                    page_size,
                    page_token,
                };
                let page = client.list_credentials(request).await?.into_inner();
                Ok((page.credentials, page.next_page_token))
            }
        })
        .await
    }

    /// Adds a credential to a holder.
    pub async fn create_credential(&self, credential: NewCredential) -> Result<Credential, Error> {
        let request = pb::CreateCredentialRequest {
            credential: Some(credential.into()),
        };
        let credential = self.credentials.clone().create_credential(request).await;
        Ok(self.check(credential)?.into())
    }

    /// Changes a credential's number or dates.
    pub async fn update_credential(
        &self,
        id: &str,
        changes: CredentialChanges,
    ) -> Result<Credential, Error> {
        let request = convert::update_credential(id, changes);
        let credential = self.credentials.clone().update_credential(request).await;
        Ok(self.check(credential)?.into())
    }

    /// Closes the current cycle and starts the next; the server fills in what is `None`.
    pub async fn renew_credential(
        &self,
        id: &str,
        expires_on: Option<Date>,
        renewed_on: Option<Date>,
        force: bool,
    ) -> Result<Credential, Error> {
        let request = pb::RenewCredentialRequest {
            id: id.to_owned(),
            expires_on: convert::date_or_empty(expires_on),
            renewed_on: convert::date_or_empty(renewed_on),
            force,
        };
        let credential = self.credentials.clone().renew_credential(request).await;
        Ok(self.check(credential)?.into())
    }

    /// Records a check of a credential against its issuing body's registry.
    pub async fn verify_credential(
        &self,
        id: &str,
        result: &str,
        source: Option<String>,
        by: Option<String>,
        on: Option<Date>,
    ) -> Result<Credential, Error> {
        let request = pb::VerifyCredentialRequest {
            id: id.to_owned(),
            result: result.to_owned(),
            source: source.unwrap_or_default(),
            checked_by: by.unwrap_or_default(),
            checked_on: convert::date_or_empty(on),
        };
        let credential = self.credentials.clone().verify_credential(request).await;
        Ok(self.check(credential)?.into())
    }

    /// Reverts a credential's last renewal exactly.
    pub async fn undo_renewal(&self, id: &str) -> Result<Credential, Error> {
        let request = pb::UndoRenewalRequest { id: id.to_owned() };
        let credential = self.credentials.clone().undo_renewal(request).await;
        Ok(self.check(credential)?.into())
    }

    /// Deletes a credential; one that courses are pinned to only with `force`.
    pub async fn delete_credential(&self, id: &str, force: bool) -> Result<(), Error> {
        let request = pb::DeleteCredentialRequest {
            id: id.to_owned(),
            force,
        };
        let reply = self.credentials.clone().delete_credential(request).await;
        self.check(reply).map(drop)
    }

    /// Fetches one course by id.
    pub async fn course(&self, id: &str) -> Result<Course, Error> {
        let request = pb::GetCourseRequest { id: id.to_owned() };
        let course = self.courses.clone().get_course(request).await;
        Ok(self.check(course)?.into())
    }

    /// Lists a holder's courses, all of them or the first `limit`.
    pub async fn courses(
        &self,
        holder_id: &str,
        limit: Option<usize>,
    ) -> Result<Vec<Course>, Error> {
        self.paginate(limit, |page_size, page_token| {
            let mut client = self.courses.clone();
            let holder_id = holder_id.to_owned();
            async move {
                let request = pb::ListCoursesRequest {
                    holder_id,
                    page_size,
                    page_token,
                };
                let page = client.list_courses(request).await?.into_inner();
                Ok((page.courses, page.next_page_token))
            }
        })
        .await
    }

    /// Logs a completed course; one with the same title, date and amount as a logged one
    /// only with `allow_duplicate`.
    pub async fn create_course(
        &self,
        course: NewCourse,
        allow_duplicate: bool,
    ) -> Result<Course, Error> {
        let request = pb::CreateCourseRequest {
            course: Some(course.into()),
            allow_duplicate,
        };
        let course = self.courses.clone().create_course(request).await;
        Ok(self.check(course)?.into())
    }

    /// Logs one course for several holders and a team's members (`CreateCourses`): all or
    /// nothing.
    pub async fn create_courses(
        &self,
        course: NewCourse,
        holder_ids: Vec<String>,
        team: Option<String>,
        allow_duplicate: bool,
    ) -> Result<Vec<Course>, Error> {
        let request = pb::CreateCoursesRequest {
            course: Some(course.into()),
            holder_ids,
            team: team.unwrap_or_default(),
            allow_duplicate,
        };
        let reply = self.courses.clone().create_courses(request).await;
        Ok(self
            .check(reply)?
            .courses
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Changes a course; list fields are replaced when given.
    pub async fn update_course(&self, id: &str, changes: CourseChanges) -> Result<Course, Error> {
        let request = convert::update_course(id, changes);
        let course = self.courses.clone().update_course(request).await;
        Ok(self.check(course)?.into())
    }

    /// Deletes a course.
    pub async fn delete_course(&self, id: &str) -> Result<(), Error> {
        let request = pb::DeleteCourseRequest { id: id.to_owned() };
        let reply = self.courses.clone().delete_course(request).await;
        self.check(reply).map(drop)
    }

    /// Where each of a holder's credentials stands on `as_of` (default: the holder's today).
    pub async fn compliance(
        &self,
        holder_id: &str,
        as_of: Option<Date>,
    ) -> Result<Vec<Compliance>, Error> {
        let request = pb::ListComplianceRequest {
            holder_id: holder_id.to_owned(),
            as_of: convert::date_or_empty(as_of),
        };
        let reply = self.compliance.clone().list_compliance(request).await;
        let rows = self.check(reply)?.compliance;
        Ok(rows.into_iter().map(Compliance::from).collect())
    }

    /// Upcoming expiries, soonest first, all of them or the first `limit`.
    pub async fn deadlines(
        &self,
        query: &DeadlineQuery,
        limit: Option<usize>,
    ) -> Result<Vec<Deadline>, Error> {
        self.paginate(limit, |page_size, page_token| {
            let mut client = self.compliance.clone();
            let request = pb::ListDeadlinesRequest {
                within_days: query.within_days,
                holder_id: query.holder_id.clone().unwrap_or_default(),
                as_of: convert::date_or_empty(query.as_of),
                page_size,
                page_token,
            };
            async move {
                let page = client.list_deadlines(request).await?.into_inner();
                Ok((page.deadlines, page.next_page_token))
            }
        })
        .await
    }

    /// A team's board (`TeamStatus`): every member credential, worst first.
    pub async fn team_status(
        &self,
        query: &TeamStatusQuery,
    ) -> Result<(Vec<TeamStatusRow>, Vec<crate::model::CompetencyRow>), Error> {
        let request = pb::TeamStatusRequest {
            team: query.team.clone().unwrap_or_default(),
            statuses: query
                .statuses
                .iter()
                .map(|&s| convert::status_to_pb(s).into())
                .collect(),
            program: query.program.clone().unwrap_or_default(),
            within_days: query.within_days.unwrap_or(0),
            as_of: convert::date_or_empty(query.as_of),
        };
        let reply = self.check(self.compliance.clone().team_status(request).await)?;
        Ok((
            reply.rows.into_iter().map(Into::into).collect(),
            reply.competencies.into_iter().map(Into::into).collect(),
        ))
    }

    /// Alerts of one holder or of all of them, all pages or the first `limit` alerts.
    pub async fn alerts(
        &self,
        query: &AlertQuery,
        limit: Option<usize>,
    ) -> Result<Vec<Alert>, Error> {
        self.paginate(limit, |page_size, page_token| {
            let mut client = self.alerts.clone();
            let request = pb::ListAlertsRequest {
                holder_id: query.holder_id.clone().unwrap_or_default(),
                filter: query.filter.as_str().to_owned(),
                page_size,
                page_token,
            };
            async move {
                let page = client.list_alerts(request).await?.into_inner();
                Ok((page.alerts, page.next_page_token))
            }
        })
        .await
    }

    /// Acknowledges an alert: it is handled, so no channel retries it.
    pub async fn ack_alert(&self, id: &str) -> Result<Alert, Error> {
        let request = pb::AckAlertRequest { id: id.to_owned() };
        let alert = self.alerts.clone().ack_alert(request).await;
        Ok(self.check(alert)?.into())
    }

    /// Snoozes an alert until `until` (a date in the holder's time zone).
    pub async fn snooze_alert(&self, id: &str, until: Date) -> Result<Alert, Error> {
        let request = pb::SnoozeAlertRequest {
            id: id.to_owned(),
            until: until.to_string(),
        };
        let alert = self.alerts.clone().snooze_alert(request).await;
        Ok(self.check(alert)?.into())
    }

    /// Mutes (or unmutes) the alerts about one credential.
    pub async fn mute_credential(
        &self,
        credential_id: &str,
        muted: bool,
    ) -> Result<CredentialMute, Error> {
        let request = pb::MuteCredentialRequest {
            credential_id: credential_id.to_owned(),
            muted,
        };
        let reply = self.alerts.clone().mute_credential(request).await;
        Ok(self.check(reply)?.into())
    }

    /// Reads (`set` = None) or replaces the alert thresholds of one scope: exactly one of
    /// `holder_id`, `credential_id`, `program` is non-empty.
    pub async fn alert_thresholds(
        &self,
        scope: (&str, &str, &str),
        set: Option<Vec<u32>>,
    ) -> Result<ScopeSettings, Error> {
        let (holder_id, credential_id, program) = scope;
        let scope = pb::AlertSettingsScope {
            program: program.to_owned(),
            holder_id: holder_id.to_owned(),
            credential_id: credential_id.to_owned(),
        };
        let reply = match set {
            None => {
                let request = pb::GetAlertSettingsRequest { scope: Some(scope) };
                self.alerts.clone().get_alert_settings(request).await
            }
            Some(thresholds) => {
                let request = pb::UpdateAlertSettingsRequest {
                    scope: Some(scope),
                    thresholds,
                };
                self.alerts.clone().update_alert_settings(request).await
            }
        };
        let settings = self.check(reply)?;
        let id = settings
            .scope
            .map(|s| {
                [s.holder_id, s.credential_id, s.program]
                    .into_iter()
                    .find(|id| !id.is_empty())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        Ok(ScopeSettings {
            id,
            thresholds: settings.thresholds,
            muted: settings.muted,
            effective_thresholds: settings.effective_thresholds,
            effective_from: Some(settings.effective_from).filter(|f| !f.is_empty()),
        })
    }

    /// Opens the holder's alert stream: every alert after `after_seq`, then new ones.
    pub async fn watch_alerts(
        &self,
        holder_id: &str,
        after_seq: u64,
    ) -> Result<AlertStream, Error> {
        let request = pb::WatchAlertsRequest {
            holder_id: holder_id.to_owned(),
            after_seq,
        };
        let reply = self.alerts.clone().watch_alerts(request).await;
        Ok(AlertStream {
            server: self.server.clone(),
            inner: self.check(reply)?,
        })
    }

    /// Sends a test alert through each of the holder's channels, or of `team`'s (then
    /// `holder_id` is not sent), and reports what each did.
    pub async fn send_test_alert(
        &self,
        holder_id: &str,
        team: Option<&str>,
    ) -> Result<TestAlertReport, Error> {
        let request = match team {
            Some(team) => pb::SendTestAlertRequest {
                holder_id: String::new(),
                team: team.to_owned(),
            },
            None => pb::SendTestAlertRequest {
                holder_id: holder_id.to_owned(),
                team: String::new(),
            },
        };
        let reply = self.alerts.clone().send_test_alert(request).await;
        Ok(self.check(reply)?.into())
    }

    /// Adds a channel for a holder's alerts.
    pub async fn create_channel(&self, channel: NewChannel) -> Result<AlertChannel, Error> {
        let request = pb::CreateChannelRequest {
            channel: Some(channel.into()),
        };
        let channel = self.channels.clone().create_channel(request).await;
        Ok(self.check(channel)?.into())
    }

    /// A holder's channels, or with `team` a team's (the API does not page them: there are
    /// a handful).
    pub async fn channels(
        &self,
        holder_id: &str,
        team: Option<&str>,
    ) -> Result<Vec<AlertChannel>, Error> {
        let request = pb::ListChannelsRequest {
            holder_id: if team.is_some() {
                String::new()
            } else {
                holder_id.to_owned()
            },
            team: team.unwrap_or_default().to_owned(),
        };
        let reply = self.channels.clone().list_channels(request).await;
        let channels = self.check(reply)?.channels;
        Ok(channels.into_iter().map(AlertChannel::from).collect())
    }

    /// Deletes a channel.
    pub async fn delete_channel(&self, id: &str) -> Result<(), Error> {
        let request = pb::DeleteChannelRequest { id: id.to_owned() };
        let reply = self.channels.clone().delete_channel(request).await;
        self.check(reply).map(drop)
    }

    /// Makes a token; the answer holds its secret.
    pub async fn create_token(
        &self,
        role: &str,
        holder_id: Option<&str>,
        expires_at: Option<jiff::Timestamp>,
        name: Option<&str>,
    ) -> Result<NewTokenSecret, Error> {
        let request = pb::CreateTokenRequest {
            name: name.unwrap_or_default().to_owned(),
            role: role.to_owned(),
            holder_id: holder_id.unwrap_or_default().to_owned(),
            expires_at: expires_at.map(|t| t.to_string()).unwrap_or_default(),
        };
        let reply = self.check(self.tokens.clone().create_token(request).await)?;
        let token = token_info(reply.token.unwrap_or_default());
        Ok(NewTokenSecret {
            id: token.id,
            token: reply.secret,
            role: token.role,
            holder_id: token.holder_id,
            expires_at: token.expires_at,
        })
    }

    /// The tokens this caller may see.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, Error> {
        let request = pb::ListTokensRequest {};
        let reply = self.check(self.tokens.clone().list_tokens(request).await)?;
        Ok(reply.tokens.into_iter().map(token_info).collect())
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, id: &str) -> Result<TokenInfo, Error> {
        let request = pb::RevokeTokenRequest { id: id.to_owned() };
        Ok(token_info(
            self.check(self.tokens.clone().revoke_token(request).await)?,
        ))
    }

    /// The audit trail, oldest first: one holder's (or one credential's), or every holder's
    /// the token may see.
    pub async fn history(
        &self,
        holder_id: Option<&str>,
        credential_id: Option<&str>,
        since: Option<Date>,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let entries = self
            .paginate(None, |page_size, page_token| {
                let mut client = self.history.clone();
                let request = pb::ListHistoryRequest {
                    holder_id: holder_id.unwrap_or_default().to_owned(),
                    credential_id: credential_id.unwrap_or_default().to_owned(),
                    since: since.map(|d| d.to_string()).unwrap_or_default(),
                    page_size,
                    page_token,
                };
                async move {
                    let page = client.list_history(request).await?.into_inner();
                    Ok((page.entries, page.next_page_token))
                }
            })
            .await?;
        let json = |text: String| {
            (!text.is_empty())
                .then(|| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
        };
        Ok(entries
            .into_iter()
            .map(|e: pb::HistoryEntry| HistoryEntry {
                id: e.id,
                at: e.at,
                token_id: non_empty(e.token_id),
                actor: e.actor,
                action: e.action,
                kind: e.kind,
                record: e.record,
                holder_id: non_empty(e.holder_id),
                before: json(e.before),
                after: json(e.after),
            })
            .collect())
    }

    /// Adds a team.
    pub async fn create_team(&self, name: &str) -> Result<Team, Error> {
        let request = pb::CreateTeamRequest {
            name: name.to_owned(),
        };
        Ok(team(
            self.check(self.teams.clone().create_team(request).await)?,
        ))
    }

    /// The teams this caller may see.
    pub async fn teams(&self) -> Result<Vec<Team>, Error> {
        let request = pb::ListTeamsRequest {};
        let reply = self.check(self.teams.clone().list_teams(request).await)?;
        Ok(reply.teams.into_iter().map(team).collect())
    }

    /// One team, by id or name.
    pub async fn team(&self, name: &str) -> Result<Team, Error> {
        let request = pb::GetTeamRequest {
            team: name.to_owned(),
        };
        Ok(team(
            self.check(self.teams.clone().get_team(request).await)?,
        ))
    }

    /// Changes a team's people: `"add-member"`, `"remove-member"` or `"add-lead"`.
    pub async fn change_team(
        &self,
        change: &str,
        name: &str,
        holder_id: &str,
    ) -> Result<Team, Error> {
        let request = pb::TeamMemberRequest {
            team: name.to_owned(),
            holder_id: holder_id.to_owned(),
        };
        let mut client = self.teams.clone();
        let reply = match change {
            "add-member" => client.add_member(request).await,
            "remove-member" => client.remove_member(request).await,
            _ => client.add_lead(request).await,
        };
        Ok(team(self.check(reply)?))
    }

    /// Opens the store's dump: whole lines of recert-export JSON, chunk by chunk.
    /// With `holder`, only that holder's records.
    pub async fn export(
        &self,
        omit_secrets: bool,
        holder: Option<&str>,
    ) -> Result<ExportStream, Error> {
        let request = pb::ExportDataRequest {
            omit_secrets,
            holder_id: holder.unwrap_or_default().to_owned(),
        };
        let reply = self.backups.clone().export_data(request).await;
        Ok(ExportStream {
            server: self.server.clone(),
            inner: self.check(reply)?,
        })
    }

    /// Sends a dump in pieces; the server restores all of it or, naming the bad line,
    /// nothing.
    /// With `only`, just the records with those ids are restored; with `replace`, records
    /// that differ from the store's replace them.
    pub async fn import(
        &self,
        pieces: Vec<Vec<u8>>,
        only: Vec<String>,
        replace: bool,
    ) -> Result<ImportReport, Error> {
        let mut first = Some((only, replace));
        let requests = pieces.into_iter().map(move |data| {
            let (only, replace) = first.take().unwrap_or_default();
            pb::ImportDataRequest {
                data,
                only,
                replace,
            }
        });
        let reply = self
            .backups
            .clone()
            .import_data(tokio_stream::iter(requests))
            .await;
        Ok(self.check(reply)?.into())
    }

    /// Unwraps a reply, turning a failed call into the client's error.
    fn check<T>(&self, reply: Result<tonic::Response<T>, Status>) -> Result<T, Error> {
        reply
            .map(tonic::Response::into_inner)
            .map_err(|status| self.rejected(status))
    }

    /// Maps a gRPC status to the client's error (see [`rejected`]).
    fn rejected(&self, status: Status) -> Error {
        rejected(&self.server, status)
    }

    /// Follows `next_page_token` until the server has no more, or until `limit` items.
    ///
    /// `fetch` gets the page size and token and returns one page of proto items plus the next
    /// token. A server repeating a token would loop forever, so that is an error.
    async fn paginate<P, T, F, Fut>(
        &self,
        limit: Option<usize>,
        mut fetch: F,
    ) -> Result<Vec<T>, Error>
    where
        F: FnMut(i32, String) -> Fut,
        Fut: Future<Output = Result<(Vec<P>, String), Status>>,
        T: From<P>,
    {
        let mut items = Vec::new();
        let mut token = String::new();
        loop {
            let wanted = limit.map_or(PAGE_SIZE, |limit| {
                limit.saturating_sub(items.len()).clamp(1, PAGE_SIZE)
            });
            let page_size = i32::try_from(wanted).unwrap_or(i32::MAX);
            let (page, next) = fetch(page_size, token.clone())
                .await
                .map_err(|status| self.rejected(status))?;
            items.extend(page.into_iter().map(T::from));
            if let Some(limit) = limit
                && items.len() >= limit
            {
                items.truncate(limit);
                break;
            }
            if next.is_empty() {
                break;
            }
            if next == token {
                return Err(Error::Server {
                    code: Code::Internal,
                    message: "the server returned the same page token twice".to_owned(),
                    violations: Vec::new(),
                });
            }
            token = next;
        }
        Ok(items)
    }
}

/// An open `WatchAlerts` stream.
pub struct AlertStream {
    server: String,
    inner: tonic::Streaming<pb::Alert>,
}

impl AlertStream {
    /// The next alert; `Ok(None)` when the server ended the stream.
    ///
    /// UNAVAILABLE with a message mid-stream is the server (or h2) saying why the stream
    /// ended, e.g. a daemon shutting down; its words say more than "cannot reach recertd".
    pub async fn next(&mut self) -> Result<Option<Alert>, Error> {
        match self.inner.message().await {
            Ok(alert) => Ok(alert.map(Alert::from)),
            Err(status)
                if status.code() == Code::Unavailable && !status.message().trim().is_empty() =>
            {
                Err(Error::Server {
                    code: Code::Unavailable,
                    message: status.message().trim().to_owned(),
                    violations: Vec::new(),
                })
            }
            Err(status) => Err(rejected(&self.server, status)),
        }
    }
}

/// An open `ExportData` stream.
pub struct ExportStream {
    server: String,
    inner: tonic::Streaming<pb::ExportDataResponse>,
}

impl ExportStream {
    /// The next chunk of whole lines; `Ok(None)` at the end of the dump.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, Error> {
        match self.inner.message().await {
            Ok(chunk) => Ok(chunk.map(|c| c.data)),
            Err(status) => Err(rejected(&self.server, status)),
        }
    }
}

/// Maps a gRPC status from `server` to an error: UNAVAILABLE means the connection failed
/// mid-way (the daemon stopped); a reply without `grpc-status` came from something that is
/// not a gRPC server; UNIMPLEMENTED without a message is a daemon older than this client;
/// anything else carries the server's message.
fn rejected(server: &str, status: Status) -> Error {
    // tonic's wording for a plain HTTP reply; it offers no typed way to tell.
    const NOT_GRPC: &str = "grpc-status header missing, mapped from HTTP status code ";
    if let Some(http) = status.message().strip_prefix(NOT_GRPC) {
        return Error::NotRecertd {
            server: server.to_owned(),
            detail: format!("HTTP status {http}"),
        };
    }
    match (status.code(), status.message().trim()) {
        (Code::Unavailable, _) => Error::Unreachable {
            server: server.to_owned(),
        },
        (code @ Code::Unimplemented, "") => Error::Server {
            code,
            message: format!(
                "recertd at {server} does not offer this command; upgrade recertd to match recert"
            ),
            violations: Vec::new(),
        },
        (code, "") => Error::Server {
            code,
            message: code.description().to_owned(),
            violations: Vec::new(),
        },
        (code, message) => Error::Server {
            code,
            message: message.to_owned(),
            violations: violations(&status),
        },
    }
}

/// The field violations of a `google.rpc.BadRequest` in the reply's details, if any.
fn violations(status: &Status) -> Vec<Violation> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad| {
            bad.field_violations
                .into_iter()
                .map(|v| Violation {
                    field: v.field,
                    description: v.description,
                })
                .collect()
        })
        .unwrap_or_default()
}
