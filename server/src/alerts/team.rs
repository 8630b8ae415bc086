//! Team channels as delivery targets: a member's alert gets one more delivery per channel of
//! each team they belong to (`notify add --team`), beside their own channels. The alert's
//! dedupe key and per-delivery state are the alert's as ever; a team channel is one more
//! target in its delivery list.

use super::AlertError;
use super::delivery::AlertPayload;
use crate::domain::{Channel, Delivery, team_id};
use crate::store::Store;
use jiff::Timestamp;
use std::collections::HashMap;

/// The channels of every team that has any, by member.
#[derive(Debug, Default)]
pub(super) struct TeamChannels(HashMap<u64, Vec<Channel>>);

impl TeamChannels {
    /// Reads every team and the channels of each (teams are few; most have no channel).
    pub(super) async fn read<S: Store>(store: &S) -> Result<TeamChannels, AlertError> {
        Self::read_for(store, None).await
    }

    /// The same for one holder: only the channels of the teams `holder` belongs to are read.
    pub(super) async fn of_holder<S: Store>(
        store: &S,
        holder: u64,
    ) -> Result<TeamChannels, AlertError> {
        Self::read_for(store, Some(holder)).await
    }

    async fn read_for<S: Store>(store: &S, only: Option<u64>) -> Result<TeamChannels, AlertError> {
        let mut by_member: HashMap<u64, Vec<Channel>> = HashMap::new();
        for team in store.teams().await? {
            if only.is_some_and(|h| !team.members.contains(&h)) {
                continue;
            }
            let channels = store.team_channels(team.id).await?;
            if channels.is_empty() {
                continue;
            }
            for &member in &team.members {
                let of_member = by_member.entry(member).or_default();
                for c in &channels {
                    if !of_member.iter().any(|o| o.id == c.id) {
                        of_member.push(c.clone());
                    }
                }
            }
        }
        Ok(TeamChannels(by_member))
    }

    /// Appends a delivery through each team channel that `holder`'s alerts reach.
    pub(super) fn add_deliveries(
        &self,
        holder: u64,
        deliveries: &mut Vec<Delivery>,
        now: Timestamp,
    ) {
        for c in self.0.get(&holder).into_iter().flatten() {
            if !deliveries.iter().any(|d| d.channel_id == c.id) {
                deliveries.push(Delivery::new(c.id, c.kind, c.target.clone(), now));
            }
        }
    }
}

/// The payload as `channel` gets it: a team's channel is told which team it serves.
pub(super) fn for_channel(payload: &AlertPayload, channel: &Channel) -> AlertPayload {
    let mut sent = payload.clone();
    if channel.team_id != 0 && sent.team_id.is_none() {
        sent.team_id = Some(team_id(channel.team_id));
    }
    sent
}
