// The providers behind MakeProvider, one file each. Their configs arrive
// resolved by provider_factory.cpp: models, dimension and key are set.
#pragma once

#include <memory>

#include "imgbackfill/http.h"
#include "imgbackfill/provider.h"

namespace imgbackfill {

inline constexpr const char* kGeminiDefaultBaseUrl =
    "https://generativelanguage.googleapis.com/v1beta";
inline constexpr const char* kOpenAiDefaultBaseUrl = "https://api.openai.com/v1";

std::unique_ptr<Provider> MakeLocalProvider();
std::unique_ptr<Provider> MakeGeminiProvider(const ProviderConfig& config, HttpTransport& http,
                                             RequestPacer& pacer);
std::unique_ptr<Provider> MakeOpenAiProvider(const ProviderConfig& config, HttpTransport& http,
                                             RequestPacer& pacer);

}  // namespace imgbackfill
