// Output of surge-cli: either aligned "key: value" lines for people, or
// protobuf JSON (one object per line) for scripts.
//
//   Printer out(/*json=*/false, std::cout, std::cerr);
//   out.PrintMessage(order, {{"request_id", id}});
//   //  request_id:  cli-4f1c...
//   //  order_id:    o-1
//   //  status:      CONFIRMED
//
// Human output flattens nested fields into dotted keys ("lines[0].sku"),
// prints enum values without their type prefix, skips empty strings, unset
// messages and zero enums (UNSPECIFIED), and keeps numeric zeros and false.
// Not thread-safe: one printer per output, used from one thread at a time.
#ifndef SURGE_CLIENTS_CLI_PRINTER_H_
#define SURGE_CLIENTS_CLI_PRINTER_H_

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "surge/v1/events.pb.h"

namespace surge::cli {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// "ORDER_STATUS_CONFIRMED" of enum OrderStatus -> "CONFIRMED".
std::string EnumShortName(const google::protobuf::EnumValueDescriptor* value);
// Flattens `message` into key/value pairs as described above.
KeyValues FlattenMessage(const google::protobuf::Message& message);
// Aligns keys into one column: "key:<pad> value\n" per pair.
std::string FormatKeyValues(const KeyValues& pairs);
// Protobuf JSON on one line, proto field names, defaults included.
std::string ToJsonLine(const google::protobuf::Message& message);
// One line per event: "<position>  <stream>@<version>  <Type>  <payload>".
std::string FormatEventLine(const surge::v1::Event& event);

class Printer {
 public:
  Printer(bool json, std::ostream& out, std::ostream& err) : json_(json), out_(out), err_(err) {}

  bool json() const { return json_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // Prints a response. `extra` (e.g. a generated request_id) comes first in
  // human output; in JSON mode it goes to stderr so stdout stays pure JSON.
  void PrintMessage(const google::protobuf::Message& message, const KeyValues& extra = {});
  // Prints one event: a JSON line, or FormatEventLine.
  void PrintEvent(const surge::v1::Event& event);
  // Human mode: "key: value" pairs; JSON mode: nothing (they are in the
  // objects already).
  void PrintSummary(const KeyValues& pairs);

 private:
  const bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_PRINTER_H_
