//! The MPS (Media Processing Service) trigger's event.
//!
//! "MPS Trigger" (<https://www.tencentcloud.com/document/product/583/39163>), section "Event
//! Structure for MPS Trigger", and the MPS section of "Trigger Event Message Structure
//! Summary" (583/31439): MPS pushes one event per finished task, of type `WorkflowTask` (a
//! workflow's task, with [`Mps::workflow_task_event`]) or `EditMediaTask` (a video editing
//! task, with [`Mps::edit_media_task_event`]). The page's sample is a `WorkflowTask`; its
//! tables link the nested structures (`MediaInputInfo`, `MediaMetaData`,
//! `MediaProcessTaskResult`, …) to the data types of MPS's API (document 862/37615).
//!
//! The structures the sample shows are typed here. What depends on the kind of task (a
//! task's `Input` and `Output`, the AI results) is kept as the event's own JSON text
//! ([`Raw`], borrowed, not parsed): parse it with `serde_json::from_str(raw.get())`
//! into a type of your own, or a `serde_json::Value`.

use crate::{Raw, Str};
use serde::{Deserialize, Serialize};

/// A media processing task that finished (or changed state): sample `mps`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mps<'a> {
    /// `"WorkflowTask"` or `"EditMediaTask"`: which of the two task fields is set.
    #[serde(borrow)]
    pub event_type: Str<'a>,
    /// The workflow task, when `event_type` is `"WorkflowTask"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub workflow_task_event: Option<WorkflowTask<'a>>,
    /// The video editing task, when `event_type` is `"EditMediaTask"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub edit_media_task_event: Option<EditMediaTask<'a>>,
}

/// [`Mps::workflow_task_event`]: a workflow's task and the results of its steps.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkflowTask<'a> {
    /// The task's ID.
    #[serde(borrow)]
    pub task_id: Str<'a>,
    /// `"PROCESSING"` or `"FINISH"`.
    #[serde(borrow)]
    pub status: Str<'a>,
    /// Deprecated by MPS in favour of each step's own `ErrCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err_code: Option<i64>,
    /// Deprecated by MPS in favour of each step's own `Message`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Str<'a>>,
    /// The file that was processed (may be null).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub input_info: Option<MediaInputInfo<'a>>,
    /// What MPS found out about the original file (may be null).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<MediaMetaData<'a>>,
    /// The processing steps (transcoding, animated graphics, snapshots, image sprites) and
    /// how each ended.
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub media_process_result_set: Vec<MediaProcessTaskResult<'a>>,
    /// Content review results, as the event's JSON (MPS type `AiContentReviewResult`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ai_content_review_result_set: Option<Raw<'a>>,
    /// Content analysis results, as the event's JSON (MPS type `AiAnalysisResult`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ai_analysis_result_set: Option<Raw<'a>>,
    /// Content recognition results, as the event's JSON (MPS type `AiRecognitionResult`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub ai_recognition_result_set: Option<Raw<'a>>,
}

/// [`WorkflowTask::input_info`]: where the processed file is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaInputInfo<'a> {
    /// The kind of storage (`"COS"`).
    #[serde(borrow)]
    pub r#type: Str<'a>,
    /// The COS object, when `type` is `"COS"`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub cos_input_info: Option<CosInputInfo<'a>>,
}

/// [`MediaInputInfo::cos_input_info`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CosInputInfo<'a> {
    /// The bucket (`name-appid`).
    #[serde(borrow)]
    pub bucket: Str<'a>,
    /// The bucket's region (`ap-guangzhou`).
    #[serde(borrow)]
    pub region: Str<'a>,
    /// The object's key, with a leading `/`.
    #[serde(borrow)]
    pub object: Str<'a>,
}

/// [`WorkflowTask::meta_data`]: the original file's container and streams.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaMetaData<'a> {
    /// Its size, bytes.
    #[serde(default)]
    pub size: u64,
    /// Its container (`"mov,mp4,m4a,3gp,3g2,mj2"`).
    #[serde(borrow, default)]
    pub container: Str<'a>,
    /// Its total bitrate, bits per second.
    #[serde(default)]
    pub bitrate: u64,
    /// Its height, pixels.
    #[serde(default)]
    pub height: u32,
    /// Its width, pixels.
    #[serde(default)]
    pub width: u32,
    /// Its duration, seconds.
    #[serde(default)]
    pub duration: f64,
    /// Its rotation, degrees.
    #[serde(default)]
    pub rotate: i32,
    /// Its video streams.
    #[serde(borrow, default)]
    pub video_stream_set: Vec<VideoStream<'a>>,
    /// Its audio streams.
    #[serde(borrow, default)]
    pub audio_stream_set: Vec<AudioStream<'a>>,
    /// The video's duration, seconds.
    #[serde(default)]
    pub video_duration: f64,
    /// The audio's duration, seconds.
    #[serde(default)]
    pub audio_duration: f64,
}

/// One of [`MediaMetaData::video_stream_set`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VideoStream<'a> {
    /// Bits per second.
    #[serde(default)]
    pub bitrate: u64,
    /// The codec (`"h264"`).
    #[serde(borrow, default)]
    pub codec: Str<'a>,
    /// Frames per second.
    #[serde(default)]
    pub fps: u32,
    /// Height, pixels.
    #[serde(default)]
    pub height: u32,
    /// Width, pixels.
    #[serde(default)]
    pub width: u32,
}

/// One of [`MediaMetaData::audio_stream_set`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AudioStream<'a> {
    /// Bits per second.
    #[serde(default)]
    pub bitrate: u64,
    /// The codec (`"aac"`).
    #[serde(borrow, default)]
    pub codec: Str<'a>,
    /// Samples per second.
    #[serde(default)]
    pub sampling_rate: u32,
}

/// One of [`WorkflowTask::media_process_result_set`]: one processing step. `type` says which
/// of the task fields is set; the page's sample writes the others as `null`, and so does
/// serializing this type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MediaProcessTaskResult<'a> {
    /// `"Transcode"`, `"AnimatedGraphics"`, `"SnapshotByTimeOffset"`, `"SampleSnapshot"` or
    /// `"ImageSprites"`.
    #[serde(borrow)]
    pub r#type: Str<'a>,
    /// A transcoding step.
    #[serde(borrow, default)]
    pub transcode_task: Option<TaskResult<'a>>,
    /// An animated graphics (GIF, WebP) step.
    #[serde(borrow, default)]
    pub animated_graphic_task: Option<TaskResult<'a>>,
    /// A step taking snapshots at given times.
    #[serde(borrow, default)]
    pub snapshot_by_time_offset_task: Option<TaskResult<'a>>,
    /// A step taking sample snapshots.
    #[serde(borrow, default)]
    pub sample_snapshot_task: Option<TaskResult<'a>>,
    /// An image sprite step.
    #[serde(borrow, default)]
    pub image_sprite_task: Option<TaskResult<'a>>,
}

/// How one processing step ended. Its `Input` and `Output` differ with the kind of step
/// (MPS's `MediaTranscodeItem`, `MediaSnapshotByTimePicInfoItem`, …), so they are left as
/// the event's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskResult<'a> {
    /// `"PROCESSING"`, `"SUCCESS"` or `"FAIL"`.
    #[serde(borrow)]
    pub status: Str<'a>,
    /// 0 on success, MPS's error code otherwise.
    #[serde(default)]
    pub err_code: i64,
    /// `"SUCCESS"`, or what went wrong.
    #[serde(borrow, default)]
    pub message: Str<'a>,
    /// What the step was asked to do, as the event's JSON.
    #[serde(borrow, default)]
    pub input: Option<Raw<'a>>,
    /// What it produced (paths, sizes, streams), as the event's JSON; `null` when it failed.
    #[serde(borrow, default)]
    pub output: Option<Raw<'a>>,
}

/// [`Mps::edit_media_task_event`]: a video editing task. The page documents its fields
/// (`TaskId`, `Status`, `ErrCode`, `Message`, `Input`, `Output`) but shows no sample.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EditMediaTask<'a> {
    /// The task's ID.
    #[serde(borrow)]
    pub task_id: Str<'a>,
    /// `"PROCESSING"` or `"FINISH"`.
    #[serde(borrow)]
    pub status: Str<'a>,
    /// 0 on success, MPS's error code otherwise.
    #[serde(default)]
    pub err_code: i64,
    /// What went wrong, if anything.
    #[serde(borrow, default)]
    pub message: Str<'a>,
    /// The task's input (MPS type `EditMediaTaskInput`), as the event's JSON.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Raw<'a>>,
    /// The task's output (MPS type `EditMediaTaskOutput`, may be null), as the event's JSON.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Raw<'a>>,
}

impl crate::Trigger for Mps<'static> {
    const NAME: &'static str = "mps";
    type Event<'e> = Mps<'e>;
}
