//! Errors the page shows: an HTTP status and a sentence for the user, sent as `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A request that could not be served, with the message the page shows as it is.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// The request is wrong (a bad file, a bad setting): 400.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::BAD_REQUEST, message)
    }

    /// The request conflicts with what the server is doing (a run in progress): 409.
    pub fn busy(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::CONFLICT, message)
    }

    /// What was asked for does not exist (yet): 404.
    pub fn missing(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::NOT_FOUND, message)
    }

    /// Something failed on the server's side: 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::with_status(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The message shown to the user.
    #[cfg(test)]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Any status.
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Request extractors' rejections (a malformed query or body) become messages like any other error.
macro_rules! from_rejection {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(r: $t) -> Self {
                ApiError::with_status(r.status(), r.body_text())
            }
        }
    )*};
}

from_rejection!(
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::JsonRejection,
    axum::extract::multipart::MultipartRejection,
    axum::extract::rejection::PathRejection
);
