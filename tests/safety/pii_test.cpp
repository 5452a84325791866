// Unit tests of the PII scanners: every type, its near-misses, overlaps and options.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "safety/checksums.h"
#include "safety/pii.h"

namespace deepfuse {
namespace {

// "type:original" for every span found, in order.
std::vector<std::string> found(const std::string& text, PiiOptions opts = {}) {
  std::vector<std::string> out;
  for (const PiiSpan& s : find_pii(text, opts)) {
    out.push_back(std::string(pii_type_name(s.type)) + ":" + text.substr(s.begin, s.end - s.begin));
  }
  return out;
}

using V = std::vector<std::string>;

TEST(Checksums, Luhn) {
  EXPECT_TRUE(safety_checks::luhn_valid("4111111111111111"));
  EXPECT_TRUE(safety_checks::luhn_valid("4111 1111 1111 1111"));
  EXPECT_FALSE(safety_checks::luhn_valid("4111111111111112"));
  EXPECT_FALSE(safety_checks::luhn_valid("0"));
}

TEST(Checksums, CnIdMod112) {
  EXPECT_TRUE(safety_checks::cn_id_checksum_valid("11010519491231002X"));
  EXPECT_TRUE(safety_checks::cn_id_checksum_valid("11010519491231002x"));
  EXPECT_FALSE(safety_checks::cn_id_checksum_valid("110105194912310021"));
  EXPECT_FALSE(safety_checks::cn_id_checksum_valid("1101051949123100"));
}

TEST(Checksums, IbanMod97) {
  EXPECT_TRUE(safety_checks::iban_mod97_valid("DE89370400440532013000"));
  EXPECT_TRUE(safety_checks::iban_mod97_valid("GB82 WEST 1234 5698 7654 32"));
  EXPECT_FALSE(safety_checks::iban_mod97_valid("DE89370400440532013001"));
  EXPECT_EQ(safety_checks::iban_length_for_country('D', 'E'), 22);
  EXPECT_EQ(safety_checks::iban_length_for_country('U', 'S'), 0);
}

TEST(Checksums, Calendar) {
  EXPECT_TRUE(safety_checks::valid_date(2024, 2, 29));
  EXPECT_FALSE(safety_checks::valid_date(2023, 2, 29));
  EXPECT_FALSE(safety_checks::valid_date(1900, 2, 29));
  EXPECT_TRUE(safety_checks::valid_date(2000, 2, 29));
  EXPECT_FALSE(safety_checks::valid_date(2024, 4, 31));
  EXPECT_FALSE(safety_checks::valid_date(2024, 13, 1));
  EXPECT_FALSE(safety_checks::valid_date(2024, 0, 1));
}

TEST(PiiCard, FormatsAndNetworks) {
  EXPECT_EQ(found("card 4111111111111111 ok"), V{"card:4111111111111111"});
  EXPECT_EQ(found("card 4111 1111 1111 1111."), V{"card:4111 1111 1111 1111"});
  EXPECT_EQ(found("card 4111-1111-1111-1111"), V{"card:4111-1111-1111-1111"});
  EXPECT_EQ(found("Amex 3782 822463 10005"), V{"card:3782 822463 10005"});
  EXPECT_EQ(found("MC 5555555555554444"), V{"card:5555555555554444"});
  EXPECT_EQ(found("银联卡6212345678901232，谢谢"), V{"card:6212345678901232"});
  EXPECT_EQ(found("qty 2 4111 1111 1111 1111"), V{"card:4111 1111 1111 1111"});
}

TEST(PiiCard, NearMisses) {
  EXPECT_EQ(found("card 4111111111111112"), V{});       // bad Luhn
  EXPECT_EQ(found("order 1234567812345670"), V{});      // Luhn ok, no issuer starts with 1
  EXPECT_EQ(found("id 41111111111111110000"), V{});     // longer digit run
  EXPECT_EQ(found("x94111111111111111"), V{});          // glued to a letter... and digit
  EXPECT_EQ(found("ref 12-4111-1111-1111-1111"), V{});  // inside a dashed number
  EXPECT_EQ(found("1.4111111111111111"), V{});          // decimal part of a number
  EXPECT_EQ(found("4111-1111 1111-1111"), V{});         // mixed separators
  PiiOptions any;
  any.card_require_iin = false;
  EXPECT_EQ(found("order 1234567812345670", any), V{"card:1234567812345670"});
}

TEST(PiiCnId, ValidAndInvalid) {
  EXPECT_EQ(found("身份证号11010519491231002X。"), V{"id:11010519491231002X"});
  EXPECT_EQ(found("ID 110105 19491231 002X"), V{"id:110105 19491231 002X"});
  EXPECT_EQ(found("身份证号110105194912310021"), V{});  // bad checksum
  EXPECT_EQ(found("身份证号110105194913310028"), V{});  // month 13
  EXPECT_EQ(found("ID 99010519491231002X"), V{});       // no province 99
  EXPECT_EQ(found("11010519491231002X1"), V{});
}

TEST(PiiIban, CompactAndGrouped) {
  EXPECT_EQ(found("IBAN DE89370400440532013000."), V{"iban:DE89370400440532013000"});
  EXPECT_EQ(found("pay GB82 WEST 1234 5698 7654 32 now"), V{"iban:GB82 WEST 1234 5698 7654 32"});
  EXPECT_EQ(found("IBAN DE89370400440532013001"), V{});  // mod-97 fails
  EXPECT_EQ(found("IBAN DE8937040044053201300"), V{});   // one char short for DE
  EXPECT_EQ(found("XDE89370400440532013000"), V{});
}

TEST(PiiPhone, ChineseMobile) {
  EXPECT_EQ(found("电话13812345678。"), V{"phone:13812345678"});
  EXPECT_EQ(found("call 138 1234 5678"), V{"phone:138 1234 5678"});
  EXPECT_EQ(found("call 138-1234-5678"), V{"phone:138-1234-5678"});
  EXPECT_EQ(found("+86 138 1234 5678"), V{"phone:+86 138 1234 5678"});
  EXPECT_EQ(found("+8613812345678"), V{"phone:+8613812345678"});
  EXPECT_EQ(found("0086 138 1234 5678"), V{"phone:0086 138 1234 5678"});
  EXPECT_EQ(found("12812345678"), V{});   // 12x is not a mobile prefix
  EXPECT_EQ(found("138123456789"), V{});  // 12 digits
}

TEST(PiiPhone, InternationalAndNational) {
  EXPECT_EQ(found("Call +44 20 7946 0958."), V{"phone:+44 20 7946 0958"});
  EXPECT_EQ(found("Call +1 (555) 123-4567"), V{"phone:+1 (555) 123-4567"});
  EXPECT_EQ(found("Call (555) 123-4567"), V{"phone:(555) 123-4567"});
  EXPECT_EQ(found("Call 555-123-4567"), V{"phone:555-123-4567"});
  EXPECT_EQ(found("Call 555.123.4567"), V{"phone:555.123.4567"});
  EXPECT_EQ(found("Call 1-555-123-4567"), V{"phone:1-555-123-4567"});
  EXPECT_EQ(found("Ring 020 7946 0958"), V{"phone:020 7946 0958"});
  EXPECT_EQ(found("Ring 07700 900123"), V{"phone:07700 900123"});
  EXPECT_EQ(found("座机010-12345678"), V{"phone:010-12345678"});
  EXPECT_EQ(found("座机(0755) 1234 5678"), V{"phone:(0755) 1234 5678"});
  EXPECT_EQ(found("Appelez 01 23 45 67 89"), V{"phone:01 23 45 67 89"});
  EXPECT_EQ(found("Call 155-123-4567"), V{});  // area code cannot start with 1
  EXPECT_EQ(found("ISBN 978-7-111-12345-6"), V{});
  EXPECT_EQ(found("price 1,234,567.89"), V{});
}

TEST(PiiDate, NumericForms) {
  EXPECT_EQ(found("on 2024-01-02."), V{"date:2024-01-02"});
  EXPECT_EQ(found("at 2024-01-02T10:00:00Z"), V{"date:2024-01-02"});
  EXPECT_EQ(found("on 2024/1/2"), V{"date:2024/1/2"});
  EXPECT_EQ(found("on 01/02/2024"), V{"date:01/02/2024"});
  EXPECT_EQ(found("on 13/02/2024"), V{"date:13/02/2024"});  // day-first with slashes
  EXPECT_EQ(found("am 02.01.2024"), V{"date:02.01.2024"});
  EXPECT_EQ(found("on 2024-02-30"), V{});  // no such day
  EXPECT_EQ(found("on 2023-02-29"), V{});
  EXPECT_EQ(found("on 13/13/2024"), V{});
  EXPECT_EQ(found("am 32.01.2024"), V{});
  EXPECT_EQ(found("v1.2.2024"), V{});
  EXPECT_EQ(found("1.2.2024.5"), V{});
  EXPECT_EQ(found("score 3/4"), V{});
}

TEST(PiiDate, WordsAndChinese) {
  EXPECT_EQ(found("born 2 January 2024."), V{"date:2 January 2024"});
  EXPECT_EQ(found("born 2nd of Jan. 2024"), V{"date:2nd of Jan. 2024"});
  EXPECT_EQ(found("born January 2, 2024"), V{"date:January 2, 2024"});
  EXPECT_EQ(found("born Sept 30th 2023"), V{"date:Sept 30th 2023"});
  EXPECT_EQ(found("born February 30, 2024"), V{});
  EXPECT_EQ(found("in January 2024"), V{});  // no day: not masked
  EXPECT_EQ(found("出生于2024年1月2日。"), V{"date:2024年1月2日"});
  EXPECT_EQ(found("2024 年 01 月 02 号"), V{"date:2024 年 01 月 02 号"});
  EXPECT_EQ(found("2024年2月30日"), V{});
  EXPECT_EQ(found("2024年13月1日"), V{});
}

TEST(PiiEmail, Addresses) {
  EXPECT_EQ(found("mail john.doe+x@example.co.uk."), V{"email:john.doe+x@example.co.uk"});
  EXPECT_EQ(found("邮箱zhang_san@qq.com，谢谢"), V{"email:zhang_san@qq.com"});
  EXPECT_EQ(found("<a.b@mail-server.org>"), V{"email:a.b@mail-server.org"});
  EXPECT_EQ(found("user@localhost"), V{});
  EXPECT_EQ(found("a..b@example.com"), V{});
  EXPECT_EQ(found("@example.com"), V{});
  EXPECT_EQ(found("user@example.c0m"), V{});
  EXPECT_EQ(found("follow @handle on x.com"), V{});
}

TEST(PiiIp, V4) {
  EXPECT_EQ(found("host 192.168.1.10 up"), V{"ip:192.168.1.10"});
  EXPECT_EQ(found("http://10.0.0.5:8080/"), V{"ip:10.0.0.5"});
  EXPECT_EQ(found("net 10.0.0.0/8"), V{"ip:10.0.0.0"});
  EXPECT_EQ(found("host 256.1.1.1"), V{});
  EXPECT_EQ(found("oid 1.3.6.1.4.1"), V{});
  EXPECT_EQ(found("version 1.2.3.4"), V{});
  EXPECT_EQ(found("v1.2.3.4"), V{});
  EXPECT_EQ(found("版本：1.2.3.4"), V{});
  EXPECT_EQ(found("Windows 10.0.19045"), V{});
}

TEST(PiiIp, V6) {
  EXPECT_EQ(found("addr 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok"),
            V{"ip:2001:0db8:85a3:0000:0000:8a2e:0370:7334"});
  EXPECT_EQ(found("addr 2001:db8::1."), V{"ip:2001:db8::1"});
  EXPECT_EQ(found("loopback ::1"), V{"ip:::1"});
  EXPECT_EQ(found("[fe80::1ff:fe23:4567:890a]:443"), V{"ip:fe80::1ff:fe23:4567:890a"});
  EXPECT_EQ(found("mapped ::ffff:192.0.2.128"), V{"ip:::ffff:192.0.2.128"});
  EXPECT_EQ(found("time 10:30:00"), V{});
  EXPECT_EQ(found("mac 00:1a:2b:3c:4d:5e"), V{});
  EXPECT_EQ(found("std::string"), V{});
  EXPECT_EQ(found("1::2::3"), V{});
  EXPECT_EQ(found("dead::beef"), V{});
  EXPECT_EQ(found("1:2:3:4:5:6:7:8:9"), V{});
}

TEST(PiiOverlap, PrecedenceAndOptions) {
  // 18 digits that are both a valid ID and Luhn-valid would be an ID (id ranks above card).
  std::string text = "A 11010519491231002X B 4111111111111111 C a@b.com";
  EXPECT_EQ(found(text), (V{"id:11010519491231002X", "card:4111111111111111", "email:a@b.com"}));
  PiiOptions no_card;
  no_card.card = false;
  EXPECT_EQ(found(text, no_card), (V{"id:11010519491231002X", "email:a@b.com"}));
  // The whole IPv6 address wins over the embedded IPv4.
  EXPECT_EQ(found("::ffff:10.1.2.3"), V{"ip:::ffff:10.1.2.3"});
}

TEST(PiiMask, TagsAndMaskStyle) {
  std::string text = "card 4111 1111 1111 1111, mail a@b.com, 2024年1月2日";
  MaskResult r = mask_pii(text, {});
  EXPECT_EQ(r.text, "card [CARD], mail [EMAIL], [DATE]");
  ASSERT_EQ(r.spans.size(), 3u);
  EXPECT_EQ(r.spans[0], (PiiSpan{PiiType::kCard, 5, 24}));
  PiiOptions m;
  m.style = MaskStyle::kMask;
  EXPECT_EQ(mask_pii(text, m).text, "card [MASK], mail [MASK], [MASK]");
  EXPECT_EQ(mask_pii(text, PiiOptions::none()).text, text);
  EXPECT_TRUE(mask_pii("", {}).spans.empty());
}

TEST(PiiTypes, NamesRoundTrip) {
  for (int i = 0; i < kNumPiiTypes; ++i) {
    auto t = static_cast<PiiType>(i);
    EXPECT_EQ(parse_pii_type(pii_type_name(t)), t);
  }
  EXPECT_EQ(parse_pii_type("cn_id"), PiiType::kCnId);
  EXPECT_FALSE(parse_pii_type("ssn").has_value());
}

}  // namespace
}  // namespace deepfuse

namespace deepfuse {
namespace {

TEST(PiiFullwidth, FoldedBeforeScanningAndMappedBack) {
  // Fullwidth digits and '＠' are common in Chinese forms; offsets refer to the original text.
  EXPECT_EQ(found("手机１３８００１３８０００。"), V{"phone:１３８００１３８０００"});
  EXPECT_EQ(found("邮箱ｚｈａｎｇ＠ｑｑ．ｃｏｍ"), V{"email:ｚｈａｎｇ＠ｑｑ．ｃｏｍ"});
  EXPECT_EQ(found("卡号４１１１　１１１１　１１１１　１１１１"),
            V{"card:４１１１　１１１１　１１１１　１１１１"});
  EXPECT_EQ(mask_pii("a １３８００１３８０００ b 13800138000", {}).text, "a [PHONE] b [PHONE]");
  EXPECT_EQ(found("１３８００１３８００１２"), V{});  // 12 digits
}

TEST(PiiDate, ChineseNumerals) {
  EXPECT_EQ(found("日期二〇二四年一月二日。"), V{"date:二〇二四年一月二日"});
  EXPECT_EQ(found("一九九八年十二月三十一日"), V{"date:一九九八年十二月三十一日"});
  EXPECT_EQ(found("二〇二四年二月二十九号"), V{"date:二〇二四年二月二十九号"});
  EXPECT_EQ(found("二〇二三年二月二十九日"), V{});  // not a leap year
  EXPECT_EQ(found("二〇二四年十三月一日"), V{});
  EXPECT_EQ(found("一二三四五六"), V{});
}

}  // namespace
}  // namespace deepfuse

namespace deepfuse {
namespace {

TEST(PiiIp, LabelColons) {
  EXPECT_EQ(found("host:fe80::1 up"), V{"ip:fe80::1"});
  EXPECT_EQ(found("服务器地址：2001:db8::7"), V{"ip:2001:db8::7"});
  EXPECT_EQ(found("Foo::bar1 and std::abc1"), V{});
}

}  // namespace
}  // namespace deepfuse
