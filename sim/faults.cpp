// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/faults.h"

#include <charconv>

namespace cvm::sim {

namespace {

Result<unsigned> number(std::string_view knob, std::string_view value)
{
	unsigned v = 0;
	auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
	if (value.empty() || ec != std::errc() || end != value.data() + value.size())
		return Error(ErrorCode::InvalidArgument,
			     "fault knob " + std::string(knob) + " needs a number, not '" + std::string(value) + "'");
	return v;
}

Status addOne(Faults &f, std::string_view item)
{
	size_t eq = item.find('=');
	std::string_view knob = item.substr(0, eq);
	std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
	static constexpr std::string_view kKnown[] = { "wrong-measurement", "delay-ms", "drop-after",
						       "malformed-reply", "exit-at" };
	bool known = false;
	for (auto k : kKnown)
		known = known || k == knob;
	if (!known)
		return Error(ErrorCode::InvalidArgument,
			     "unknown fault knob '" + std::string(knob) +
				     "' (known: wrong-measurement, delay-ms, drop-after, malformed-reply, exit-at)");
	bool needsValue = knob != "wrong-measurement";
	if (needsValue && value.empty())
		return Error(ErrorCode::InvalidArgument, "fault knob " + std::string(knob) + " needs a value");
	if (knob == "wrong-measurement")
		f.wrongMeasurement = true;
	else if (knob == "delay-ms")
		f.delayMs = CVM_TRY(number(knob, value));
	else if (knob == "drop-after")
		f.dropAfter = CVM_TRY(number(knob, value));
	else if (knob == "malformed-reply") {
		if (value.find_first_not_of("0123456789") == std::string_view::npos)
			f.malformedReplyIndex = CVM_TRY(number(knob, value));
		else
			f.malformedReplyCommand = std::string(value);
	} else if (knob == "exit-at")
		f.exitAt.emplace_back(value);
	else
		return Error(ErrorCode::InvalidArgument,
			     "unknown fault knob '" + std::string(knob) +
				     "' (known: wrong-measurement, delay-ms, drop-after, malformed-reply, exit-at)");
	return {};
}

} // namespace

bool Faults::exitsAt(std::string_view what) const
{
	for (const auto &e : exitAt)
		if (e == what)
			return true;
	return false;
}

bool Faults::any() const
{
	return wrongMeasurement || delayMs || dropAfter || malformedReplyCommand || malformedReplyIndex ||
	       !exitAt.empty();
}

Status addFaults(Faults &faults, std::string_view spec)
{
	while (!spec.empty()) {
		size_t comma = spec.find(',');
		std::string_view item = spec.substr(0, comma);
		if (!item.empty())
			CVM_CHECK(addOne(faults, item));
		if (comma == std::string_view::npos)
			break;
		spec.remove_prefix(comma + 1);
	}
	return {};
}

} // namespace cvm::sim
