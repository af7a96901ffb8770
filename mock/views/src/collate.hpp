// CouchDB view collation of JSON values, as the view index orders its rows.
//
// Types: null < false < true < numbers < strings < arrays < objects. Numbers compare by value;
// arrays element-wise (a proper prefix first); objects pair by pair in their own member order
// (key, then value; fewer members first), like couch_ejson_compare.
//
// Strings: a small Unicode Collation Algorithm in the spirit of ICU's root locale, not ICU:
//  level 1 (primary): controls < space < the ASCII punctuation in the order CouchDB documents
//    (` ^ _ - , ; : ! ? . ' " ( ) [ ] { } @ * / \ & # % + < = > | ~ $) < digits < letters,
//    letters without case or accent (Latin-1 accented letters fold to their base letter),
//    then every other code point by value;
//  level 2: unaccented before accented;  level 3: lower case before upper case;
//  level 4: code points, so distinct strings never tie.
// Hence "a" < "A" < "aa" < "b" < "B", "a" < "A" < "á" < "Á", "10" < "9" and "~" < "0".
// Not implemented: contractions and expansions (ß, æ), Unicode beyond Latin-1 letter folding.
#pragma once
#include <nlohmann/json.hpp>
#include <string_view>

namespace couchkv::mock::views {

using json = nlohmann::ordered_json;

// <0, 0 or >0. Total order: 0 only for values the index treats as equal keys.
int collate(const json& a, const json& b);
int collate_strings(std::string_view a, std::string_view b);

} // namespace couchkv::mock::views
