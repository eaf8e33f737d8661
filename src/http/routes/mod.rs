pub mod api;
pub mod collections;
pub mod conformance;
pub mod health;
pub mod items;
pub mod landing;
pub mod vocabularies;
pub mod web;
