//! `recert.v1.RosterService`: a roster of holders, teams and credentials imported at once.

use super::{Api, caller};
use crate::service::roster::{RosterAction, RosterRow};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::roster_service_server::RosterService;
use tonic::{Request, Response, Status};

/// Roster import.
#[derive(Debug, Clone)]
pub struct RosterApi<S>(pub Api<S>);

impl From<pb::RosterRow> for RosterRow {
    fn from(r: pb::RosterRow) -> Self {
        RosterRow {
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
        }
    }
}

impl From<RosterAction> for pb::RosterAction {
    fn from(a: RosterAction) -> Self {
        pb::RosterAction {
            kind: a.kind.into(),
            outcome: a.outcome.into(),
            id: a.id,
            description: a.description,
            line: a.line,
        }
    }
}

#[tonic::async_trait]
impl<S: Store> RosterService for RosterApi<S> {
    async fn import_roster(
        &self,
        request: Request<pb::ImportRosterRequest>,
    ) -> Result<Response<pb::ImportRosterResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let dry_run = req.dry_run;
        let rows = req.rows.into_iter().map(RosterRow::from).collect();
        let actions = self
            .0
            .service()
            .import_roster(&caller, rows, dry_run)
            .await?;
        Ok(Response::new(pb::ImportRosterResponse {
            actions: actions.into_iter().map(Into::into).collect(),
            dry_run,
        }))
    }
}
