//! Authentication of every call: a tower layer in front of all gRPC services (reflection
//! included, health excepted) resolves the `authorization: Bearer <token>` header to a
//! [`Caller`] through the service layer, and puts it in the request's extensions, where
//! [`super::caller`] finds it. A call without a valid token is answered `UNAUTHENTICATED`
//! before any service sees it.

use crate::service::{Caller, Service};
use crate::store::Store;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, Service as TowerService};
use tonic::transport::server::TcpConnectInfo;

/// The path prefix of the health service, which answers without a token (load balancers and
/// `recert` probing for a daemon carry none).
const HEALTH: &str = "/grpc.health.v1.Health/";

/// The layer: wraps every service in [`Authenticated`].
///
/// The service layer is shared by reference count: a call clones one `Arc`, not the
/// `Service` (its store handle and half a dozen `Arc`s, each cloned and dropped per call).
#[derive(Debug, Clone)]
pub struct AuthLayer<S> {
    service: Arc<Service<S>>,
}

impl<S> AuthLayer<S> {
    /// Authenticates through `service`.
    pub fn new(service: Service<S>) -> Self {
        AuthLayer {
            service: Arc::new(service),
        }
    }
}

impl<S: Clone, I> tower_layer::Layer<I> for AuthLayer<S> {
    type Service = Authenticated<S, I>;

    fn layer(&self, inner: I) -> Self::Service {
        Authenticated {
            service: self.service.clone(),
            inner,
        }
    }
}

/// A service that runs `inner` only for an authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated<S, I> {
    service: Arc<Service<S>>,
    inner: I,
}

impl<S, I> TowerService<Request<Body>> for Authenticated<S, I>
where
    S: Store,
    I: TowerService<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    I::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = I::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone is not ready; the instance that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let service = self.service.clone();
        Box::pin(async move {
            if request.uri().path().starts_with(HEALTH) {
                return inner.call(request).await;
            }
            let header = request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap_or_default());
            match service.authenticate(header).await {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    inner.call(request).await
                }
                Err(e) => {
                    let peer = request
                        .extensions()
                        .get::<TcpConnectInfo>()
                        .and_then(TcpConnectInfo::remote_addr);
                    tracing::warn!(
                        peer = ?peer,
                        method = request.uri().path(),
                        reason = %e,
                        "call refused: not authenticated"
                    );
                    Ok(tonic::Status::from(e).into_http())
                }
            }
        })
    }
}

/// The caller the layer resolved for this request.
pub(super) fn caller_of(extensions: &tonic::Extensions) -> Option<Caller> {
    extensions.get::<Caller>().cloned()
}
