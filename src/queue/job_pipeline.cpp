#include "queue/job_pipeline.h"

#include <algorithm>
#include <thread>

#include "imgbackfill/phash.h"

namespace imgbackfill {

namespace {

int DecodeThreads() {
  // Decoding is CPU work: one thread per core is enough to keep them busy.
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

JobPipeline::JobPipeline(Provider& provider, HttpTransport& http, const PipelineOptions& options,
                         RequestPacer* pacer)
    : provider_(provider),
      http_(http),
      options_(options),
      pacer_(pacer),
      requests_(options.concurrency),
      batcher_(
          options.batch_size, options.batch_window,
          [this](std::vector<std::shared_ptr<JobWork>> batch) {
            PostRequest(
                [this, batch = std::move(batch)]() mutable { EmbedBatch(std::move(batch)); });
          },
          [this] { return RequestCouldGo(); }),
      decoders_(DecodeThreads()) {}

JobPipeline::~JobPipeline() {
  // In the order the stages feed each other: every image prepared, the last
  // batch sent, every request answered. Request tasks wake the batcher when
  // they end, so it must outlive the request pool's last task.
  decoders_.Close();
  batcher_.Close();
  requests_.Close();
}

void JobPipeline::Submit(ClaimedJob claimed) {
  auto work = std::make_shared<JobWork>();
  const AnalysisState& current = claimed.current;
  work->need_phash = claimed.force || !current.has_phash;
  work->need_embedding = claimed.force || current.embedding_model != provider_.embedding_model();
  work->need_vision = claimed.force || current.vision_model != provider_.vision_model();
  // Deactivated after it was queued: the user no longer wants it analyzed,
  // and a provider request for it would be money spent on nothing.
  work->moot = !claimed.image.active;
  work->claimed = std::move(claimed);
  if (work->moot || (!work->need_phash && !work->need_embedding && !work->need_vision)) {
    Finish(work);  // moot, or everything current: recorded without loading the image
    return;
  }
  ++preparing_;
  decoders_.Post([this, work] {
    Prepare(work);
    // Both sides store, then load (sequentially consistent): whichever of
    // this and SetDraining comes last sees the other and flushes.
    if (--preparing_ == 0 && draining_) batcher_.FlushPending();
  });
}

void JobPipeline::SetDraining(bool draining) {
  draining_ = draining;
  if (draining && preparing_ == 0) batcher_.FlushPending();
}

void JobPipeline::Prepare(const std::shared_ptr<JobWork>& work) {
  const Image& image = work->claimed.image;
  DecodeOptions decode;
  decode.max_pixels = options_.load.max_pixels;
  const bool provider_stage = work->need_embedding || work->need_vision;
  if (provider_stage) {
    // Hosted providers get a bounded JPEG; the local one reads pixels.
    if (provider_.image_max_side() > 0) {
      decode.encode_max_side = provider_.image_max_side();
    } else {
      decode.want_rgb = true;
    }
  }
  try {
    const std::string bytes = LoadImageBytes(image.location, options_.load, http_);
    work->image.image_id = image.id;
    work->image.location = image.location;
    work->image.decoded = DecodeImage(bytes, image.location, decode);
  } catch (const AnalysisError& e) {
    StageFailed(*work, nullptr, e.failure());
    Finish(work);
    return;
  } catch (const std::exception& e) {
    StageFailed(*work, nullptr, Failure::Permanent(image.location + ": " + e.what()));
    Finish(work);
    return;
  }
  if (work->need_phash) work->results.phash = PerceptualHash(work->image.decoded.gray);
  work->pending = (work->need_embedding ? 1 : 0) + (work->need_vision ? 1 : 0);
  if (work->pending == 0) {
    Finish(work);
    return;
  }
  if (work->need_vision) PostRequest([this, work] { Describe(work); });
  if (work->need_embedding) batcher_.Add(work);
}

void JobPipeline::EmbedBatch(std::vector<std::shared_ptr<JobWork>> batch) {
  std::vector<const PreparedImage*> images;
  images.reserve(batch.size());
  for (const auto& work : batch) images.push_back(&work->image);
  std::vector<EmbedOutcome> outcomes = provider_.Embed(images);
  for (size_t i = 0; i < batch.size(); ++i) {
    JobWork& work = *batch[i];
    if (i >= outcomes.size()) {
      StageFailed(work, "embedding",
                  Failure::Transient("the provider returned fewer results than images"));
    } else if (auto* vector = std::get_if<std::vector<float>>(&outcomes[i])) {
      std::lock_guard lock(work.mu);
      work.results.embedding = EmbeddingResult{provider_.embedding_model(), std::move(*vector)};
    } else {
      StageFailed(work, "embedding", std::get<Failure>(outcomes[i]));
    }
    StageDone(batch[i]);
  }
}

void JobPipeline::Describe(const std::shared_ptr<JobWork>& work) {
  VisionOutcome outcome = provider_.Describe(work->image);
  if (auto* json = std::get_if<std::string>(&outcome)) {
    std::lock_guard lock(work->mu);
    work->results.vision = VisionResult{provider_.vision_model(), std::move(*json)};
  } else {
    StageFailed(*work, "vision", std::get<Failure>(outcome));
  }
  StageDone(work);
}

void JobPipeline::StageFailed(JobWork& work, const char* stage, Failure failure) {
  if (stage != nullptr) failure.message = std::string(stage) + ": " + failure.message;
  std::lock_guard lock(work.mu);
  if (!work.failure) {
    work.failure = std::move(failure);
    return;
  }
  Failure& kept = *work.failure;
  if (kept.transient && !failure.transient) {
    kept = std::move(failure);
  } else if (kept.transient == failure.transient) {
    kept.message += "; " + failure.message;
    if (failure.retry_after && (!kept.retry_after || *kept.retry_after < *failure.retry_after)) {
      kept.retry_after = failure.retry_after;
    }
  }
}

void JobPipeline::StageDone(const std::shared_ptr<JobWork>& work) {
  bool last = false;
  {
    std::lock_guard lock(work->mu);
    last = --work->pending == 0;
  }
  if (last) Finish(work);
}

void JobPipeline::Finish(const std::shared_ptr<JobWork>& work) {
  {
    std::lock_guard lock(finished_mu_);
    finished_.push_back(work);
  }
  finished_ready_.notify_all();
}

std::vector<std::shared_ptr<JobWork>> JobPipeline::TakeFinished(
    std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(finished_mu_);
  finished_ready_.wait_until(lock, until, [this] { return !finished_.empty() || woken_; });
  woken_ = false;
  std::vector<std::shared_ptr<JobWork>> done(finished_.begin(), finished_.end());
  finished_.clear();
  return done;
}

void JobPipeline::PostRequest(std::function<void()> task) {
  ++requests_outstanding_;
  requests_.Post([this, task = std::move(task)] {
    task();
    --requests_outstanding_;
    batcher_.Wake();
  });
}

std::chrono::steady_clock::time_point JobPipeline::RequestCouldGo() {
  if (requests_outstanding_.load() >= options_.concurrency) {
    return std::chrono::steady_clock::time_point::max();
  }
  return pacer_ != nullptr ? pacer_->NextTurn() : std::chrono::steady_clock::now();
}

void JobPipeline::FlushBatches() { batcher_.FlushAll(); }

void JobPipeline::Wake() {
  {
    std::lock_guard lock(finished_mu_);
    woken_ = true;
  }
  finished_ready_.notify_all();
}

}  // namespace imgbackfill
