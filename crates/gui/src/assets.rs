//! The page's files (`crates/gui/assets`), embedded in the binary at build time.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "assets/"]
struct Assets;

/// The page itself, its model list filled from the registry of built-in models.
pub async fn index() -> Response {
    let Some(file) = Assets::get("index.html") else {
        return ApiError::missing("No such file: index.html").into_response();
    };
    let options: String = spikepop_models::registry::BUILT_IN
        .iter()
        .filter_map(|(name, _)| spikepop_models::registry::built_in(name))
        .map(|m| {
            format!(
                "<option value=\"{}\">{} ({})</option>",
                m.name,
                m.name.to_uppercase(),
                html_escape(m.title)
            )
        })
        .collect();
    let page = String::from_utf8_lossy(&file.data).replace("<!-- built-in models -->", &options);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page,
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A script, style sheet or image of the page.
pub async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

fn serve(name: &str) -> Response {
    let Some(file) = Assets::get(name) else {
        return ApiError::missing(format!("No such file: {name}")).into_response();
    };
    let mime = match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        file.data,
    )
        .into_response()
}
