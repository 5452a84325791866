#!/usr/bin/env python3
"""Builds tests/fixtures/safety/pii_eval.jsonl: a labelled PII evaluation set.

Each line is {"text": ..., "spans": [{"type", "start", "end"}], "source": "gen"|"hard"} with
BYTE offsets into the UTF-8 text. Sentences are realistic English and Chinese templates filled
with PII values generated here from the specifications (Luhn, ISO 7064 MOD 11-2, IBAN mod-97,
the calendar), plus near-misses that must NOT be masked (bad check digits, order and tracking
numbers, versions, prices, ISBNs, invalid dates, times, MAC addresses), plus hand-written hard
cases at the end. The random generator uses a fixed seed so the file is reproducible:

    python3 tools/make_pii_eval.py > tests/fixtures/safety/pii_eval.jsonl
"""
import json
import random
import sys

rng = random.Random(20241122)

# ---------------------------------------------------------------- value generators (positives)

def luhn_check_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)

def card_number():
    brand = rng.choice(["visa", "visa", "mc", "mc2", "amex", "unionpay", "unionpay19", "jcb",
                        "discover"])
    prefix, length = {
        "visa": ("4", 16),
        "mc": (str(rng.randint(51, 55)), 16),
        "mc2": (str(rng.randint(2221, 2720)), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "unionpay": ("62" + str(rng.randint(0, 9)), 16),
        "unionpay19": ("62" + str(rng.randint(0, 9)), 19),
        "jcb": (str(rng.randint(3528, 3589)), 16),
        "discover": (rng.choice(["6011", "65"]), 16),
    }[brand]
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - 1 - len(prefix)))
    return body + luhn_check_digit(body)

def format_card(num):
    style = rng.choice(["plain", "space", "space", "dash"])
    if style == "plain":
        return num
    sep = " " if style == "space" else "-"
    if len(num) == 15:
        return sep.join([num[:4], num[4:10], num[10:]])
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))

def bad_luhn(num):
    # Change the last digit so the checksum fails.
    last = int(num[-1])
    return num[:-1] + str((last + rng.randint(1, 9)) % 10)

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

def days_in(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31

def random_ymd():
    y = rng.randint(1940, 2030)
    m = rng.randint(1, 12)
    return y, m, rng.randint(1, days_in(y, m))

def ordinal(d):
    if 10 <= d % 100 <= 20:
        return f"{d}th"
    return f"{d}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th') }"

def date_text(lang):
    y, m, d = random_ymd()
    if lang == "zh":
        return rng.choice([f"{y}年{m}月{d}日", f"{y}年{m:02d}月{d:02d}日", f"{y}-{m:02d}-{d:02d}",
                           f"{y}/{m}/{d}", f"{y}年{m}月{d}号"])
    return rng.choice([
        f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{m}/{d}/{y}", f"{d:02d}.{m:02d}.{y}",
        f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1]} {d}, {y}", f"{MONTH_ABBR[m - 1]} {d}, {y}",
        f"{ordinal(d)} {MONTHS[m - 1]} {y}", f"{d} {MONTH_ABBR[m - 1]} {y}",
    ])

FIRST = ["john", "mary", "li.wei", "zhang.san", "wang_fang", "alice", "bob.smith", "chen88",
         "m.garcia", "sato.k", "olga", "p.mueller", "dev+alerts", "support", "hr-team"]
DOMAINS = ["example.com", "mail.example.org", "qq.com", "163.com", "gmail.com", "company.cn",
           "uni-heidelberg.de", "outlook.com", "sina.com.cn", "corp.example.co.uk"]

def email():
    return rng.choice(FIRST) + rng.choice(["", str(rng.randint(1, 99))]) + "@" + rng.choice(DOMAINS)

def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))

def cn_mobile():
    num = "1" + rng.choice("3456789") + digits(9)
    return rng.choice([num, num, f"{num[:3]} {num[3:7]} {num[7:]}", f"{num[:3]}-{num[3:7]}-{num[7:]}",
                       f"+86 {num}", f"+86 {num[:3]} {num[3:7]} {num[7:]}", f"+86-{num}"])

def phone(lang):
    if lang == "zh" and rng.random() < 0.7:
        if rng.random() < 0.75:
            return cn_mobile()
        area = rng.choice(["010", "020", "021", "0755", "0571", "028"])
        local = digits(8 if len(area) == 3 else rng.choice([7, 8]))
        local = str(rng.randint(2, 9)) + local[1:]
        return rng.choice([f"{area}-{local}", f"({area}) {local}", f"{area} {local}"])
    kind = rng.choice(["us", "us", "us_paren", "us_intl", "uk", "uk_mobile", "uk_intl", "de_intl",
                       "fr", "fr_intl", "cn_intl"])
    area = str(rng.randint(2, 9)) + digits(2)
    if kind == "us":
        sep = rng.choice("-.")
        return f"{area}{sep}{digits(3)}{sep}{digits(4)}"
    if kind == "us_paren":
        return f"({area}) {digits(3)}-{digits(4)}"
    if kind == "us_intl":
        return f"+1 {area} {digits(3)} {digits(4)}"
    if kind == "uk":
        return f"020 {digits(4)} {digits(4)}"
    if kind == "uk_mobile":
        return f"07{digits(3)} {digits(6)}"
    if kind == "uk_intl":
        return f"+44 20 {digits(4)} {digits(4)}"
    if kind == "de_intl":
        return f"+49 30 {digits(7)}"
    if kind == "fr":
        return "0" + str(rng.randint(1, 9)) + "".join(" " + digits(2) for _ in range(4))
    if kind == "fr_intl":
        return "+33 " + str(rng.randint(1, 9)) + "".join(" " + digits(2) for _ in range(4))
    return "+86 1" + rng.choice("3456789") + digits(9)

PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
             50, 51, 52, 53, 54, 61, 62, 63, 64, 65]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"

def cn_id(valid=True):
    y = rng.randint(1940, 2015)
    m = rng.randint(1, 12)
    d = rng.randint(1, days_in(y, m))
    body = f"{rng.choice(PROVINCES)}{rng.randint(1, 99):02d}{rng.randint(1, 99):02d}{y}{m:02d}{d:02d}{digits(3)}"
    check = ID_CHECK[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check

IBAN_SPECS = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "NL": "4a10n", "ES": "20n",
              "IT": "1a10n12c", "CH": "5n12c", "BE": "12n", "PL": "24n", "AT": "16n"}

def bban(spec):
    out, num = "", ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        n = int(num)
        num = ""
        pool = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "c": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[ch]
        out += "".join(rng.choice(pool) for _ in range(n))
    return out

def iban_numeric(s):
    return int("".join(str(int(c, 36)) for c in s))

def iban(valid=True):
    cc = rng.choice(list(IBAN_SPECS))
    b = bban(IBAN_SPECS[cc])
    check = 98 - iban_numeric(b + cc + "00") % 97
    if not valid:
        check = (check + rng.randint(1, 96)) % 97 + 2
        if 98 - iban_numeric(b + cc + "00") % 97 == check:
            check = (check % 97) + 1
    s = f"{cc}{check:02d}{b}"
    if rng.random() < 0.5:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s

def ipv4():
    return rng.choice([
        f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    ])

def ipv6():
    groups = [f"{rng.randint(0, 0xffff):x}" for _ in range(8)]
    kind = rng.choice(["full", "full_padded", "compressed", "link", "loop", "mapped"])
    if kind == "full":
        return ":".join(groups)
    if kind == "full_padded":
        return ":".join(g.rjust(4, "0") for g in groups)
    if kind == "compressed":
        return "2001:db8:" + ":".join(groups[:2]) + "::" + groups[7]
    if kind == "link":
        return "fe80::" + ":".join(groups[4:])
    if kind == "loop":
        return "::1"
    return "::ffff:" + ipv4()

# ---------------------------------------------------------------- near-misses (negatives)

def near_miss(lang):
    kind = rng.choice(["bad_card", "bad_card", "order", "order", "version", "version4", "price",
                       "bad_date", "isbn", "tracking", "bad_id", "bad_iban", "bad_ip", "time",
                       "mac", "win_build", "fraction", "zip", "bignum", "short_phone"])
    if kind == "bad_card":
        return format_card(bad_luhn(card_number()))
    if kind == "order":
        return rng.choice(["2024" + digits(12), "DD" + digits(16), "#" + digits(8),
                           "10" + digits(14), digits(10), "8" + digits(15)])
    if kind == "version":
        return f"{rng.randint(0, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}"
    if kind == "version4":
        return ("v" if rng.random() < 0.5 else "version ") + \
            f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
    if kind == "price":
        return rng.choice([f"${rng.randint(1, 9)},{digits(3)}.{digits(2)}", f"¥{rng.randint(10, 99999)}.00",
                           f"{rng.randint(1, 999)} {digits(3)},{digits(2)} €", f"USD {rng.randint(100, 99999)}"])
    if kind == "bad_date":
        y = rng.randint(1990, 2030)
        return rng.choice([f"{y}-02-30", f"{y}-13-01", f"{y}-04-31", f"13/32/{y}", f"32.01.{y}",
                           f"{y}年2月30日", f"{y}年13月1日", f"February 30, {y}", f"31 April {y}",
                           "2023-02-29", "2100-02-29"])
    if kind == "isbn":
        return rng.choice(["ISBN 978-7-111-12345-6", "ISBN 0-306-40615-2", "ISBN 9787111544937",
                           "ISBN 978-0-13-468599-1"])
    if kind == "tracking":
        return rng.choice(["1Z999AA10123456784", "SF" + digits(12), "YT" + digits(16), digits(12),
                           "JD" + digits(13)])
    if kind == "bad_id":
        return cn_id(valid=False)
    if kind == "bad_iban":
        return iban(valid=False)
    if kind == "bad_ip":
        return rng.choice([f"256.{rng.randint(0, 255)}.1.1", "1.2.3.4.5", "300.1.1.1", "10.0.0",
                           "192.168.1.256"])
    if kind == "time":
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    if kind == "mac":
        return ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))
    if kind == "win_build":
        return rng.choice(["10.0.19045", "10.0.22631.2861", "6.1.7601"])
    if kind == "fraction":
        return rng.choice(["3/4", "1/2", "12/31", "7/8/9"])
    if kind == "zip":
        return rng.choice(["100084", "200030", "SW1A 1AA", "94103"])
    if kind == "bignum":
        return rng.choice(["1,234,567", "3.14159", "6.02e23", "1 000 000", "99.5%"])
    return rng.choice(["10086", "95588", "110", "12306", "400" + digits(7)])

# ---------------------------------------------------------------- sentence templates

EN = {
    "card": ["Please charge my card {} for the order.", "Card number: {}", "I paid with {} yesterday.",
             "The Visa ending in 1111 is not {}, right?", "Refund to card {}, thanks."],
    "date": ["My date of birth is {}.", "The meeting was moved to {}.", "Invoice dated {} is overdue.",
             "She joined the company on {}", "Admitted to hospital on {}, discharged later."],
    "email": ["Contact me at {} for details.", "Send the report to {}.", "Email: {}",
              "cc {} on the thread please", "My address is <{}>."],
    "phone": ["Call me at {} after 6pm.", "Phone: {}", "You can reach the clinic on {}.",
              "My mobile is {}, text me.", "Tel {} (office)"],
    "id": ["Passenger ID number {} was verified.", "ID: {}", "The resident ID {} belongs to the patient."],
    "iban": ["Please transfer the deposit to IBAN {}.", "IBAN: {}", "Wire it to {} by Friday."],
    "ip": ["The login came from {} at night.", "Server address: {}", "Blocked host {} after 5 attempts.",
           "ssh admin@{} failed", "Connect to http://{}:8080/status"],
    "neg": ["Order number {} has shipped.", "We upgraded to {} last week.", "The total was {}.",
            "Reference {} is attached.", "See {} for the details.", "Tracking: {}",
            "It happened at {} exactly.", "Build {} fixed the crash.", "Item {} is out of stock."],
}
ZH = {
    "card": ["请从我的银行卡{}扣款。", "卡号：{}", "我昨天用卡 {} 付的款。", "退款请打到{}这张卡上。"],
    "date": ["我的出生日期是{}。", "会议改到了{}。", "合同于{}签订。", "患者于{}入院。"],
    "email": ["请发邮件到{}联系我。", "邮箱：{}", "报告请抄送 {} 谢谢。"],
    "phone": ["我的手机号是{}，请回电。", "联系电话：{}", "客户留的电话是 {}。", "有事打{}找我。"],
    "id": ["身份证号{}已核验。", "身份证号码：{}", "患者身份证 {} 信息有误吗？"],
    "iban": ["请汇款至IBAN {}。", "收款账户 IBAN：{}"],
    "ip": ["登录IP为{}，请核实。", "服务器地址：{}", "来自 {} 的请求被拦截。"],
    "neg": ["订单号{}已发货。", "已升级到{}版本。", "总价{}。", "参考编号 {} 见附件。",
            "快递单号：{}", "时间是{}。", "商品编号{}缺货。"],
}

def value(kind, lang):
    if kind == "card":
        return format_card(card_number())
    if kind == "date":
        return date_text(lang)
    if kind == "email":
        return email()
    if kind == "phone":
        return phone(lang)
    if kind == "id":
        v = cn_id()
        return v if rng.random() < 0.9 else f"{v[:6]} {v[6:14]} {v[14:]}"
    if kind == "iban":
        return iban()
    if kind == "ip":
        return ipv4() if rng.random() < 0.65 else ipv6()
    raise ValueError(kind)

def fill_value(b, template, val, kind):
    # IPv6 literals inside URLs are bracketed (RFC 3986): http://[::1]:8080/.
    if kind == "ip" and ":" in val and "http://{}" in template:
        template = template.replace("http://{}", "http://[{}]")
    b.fill(template, val, kind)

class Builder:
    """Concatenates pieces, recording byte offsets of labelled ones."""
    def __init__(self):
        self.parts = []
        self.nbytes = 0
        self.spans = []

    def add(self, text, label=None):
        b = len(text.encode("utf-8"))
        if label:
            self.spans.append({"type": label, "start": self.nbytes, "end": self.nbytes + b})
        self.parts.append(text)
        self.nbytes += b

    def fill(self, template, val, label):
        pre, post = template.split("{}")
        self.add(pre)
        self.add(val, label)
        self.add(post)

    def line(self, source):
        return {"text": "".join(self.parts), "spans": self.spans, "source": source}

def generated(n_pos, n_neg):
    out = []
    kinds = ["card", "date", "email", "phone", "id", "iban", "ip"]
    for i in range(n_pos):
        lang = "zh" if rng.random() < 0.45 else "en"
        tmpl = ZH if lang == "zh" else EN
        b = Builder()
        k = kinds[i % len(kinds)]
        fill_value(b, rng.choice(tmpl[k]), value(k, lang), k)
        # Sometimes a second PII value or a near-miss in the same line.
        r = rng.random()
        if r < 0.3:
            b.add(" " if lang == "en" else "")
            k2 = rng.choice(kinds)
            fill_value(b, rng.choice(tmpl[k2]), value(k2, lang), k2)
        elif r < 0.55:
            b.add(" " if lang == "en" else "")
            b.fill(rng.choice(tmpl["neg"]), near_miss(lang), None)
        out.append(b.line("gen"))
    for _ in range(n_neg):
        lang = "zh" if rng.random() < 0.45 else "en"
        tmpl = ZH if lang == "zh" else EN
        b = Builder()
        b.fill(rng.choice(tmpl["neg"]), near_miss(lang), None)
        if rng.random() < 0.3:
            b.add(" " if lang == "en" else "")
            b.fill(rng.choice(tmpl["neg"]), near_miss(lang), None)
        out.append(b.line("gen"))
    return out

# ---------------------------------------------------------------- hand-written hard cases
# (text, [(type, exact substring), ...]); a substring is labelled at its first occurrence.
HARD = [
    ("Card 4111 1111 1111 1111 exp 12/27, CVV 123.", [("card", "4111 1111 1111 1111")]),
    ("Two cards: 5555555555554444 and 378282246310005.",
     [("card", "5555555555554444"), ("card", "378282246310005")]),
    ("Order #4111111111111112 (not a card, bad checksum).", []),
    ("qty 2 4012 8888 8888 1881 total", [("card", "4012 8888 8888 1881")]),
    ("account 41111111111111110 has 17 digits", []),
    ("序列号：6222021234567890 不是卡号吗？", []),
    ("银联卡号 6212 3456 7890 1232 已绑定", [("card", "6212 3456 7890 1232")]),
    ("born 29 February 2024, registered 2024-02-29T08:00:00Z",
     [("date", "29 February 2024"), ("date", "2024-02-29")]),
    ("Not a date: 2023-02-29, 31/04/2024 or 2024年2月30日.", []),
    ("生于1990年5月17日，2010年9月1日入学。", [("date", "1990年5月17日"), ("date", "2010年9月1日")]),
    ("Frist bis 2.10.2024 verlängert", [("date", "2.10.2024")]),
    ("Version 10.0.19045.3803 and kernel 5.15.0.91 are installed.", []),
    ("Ping 8.8.8.8 or 2001:4860:4860::8888 first.", [("ip", "8.8.8.8"), ("ip", "2001:4860:4860::8888")]),
    ("版本号 1.2.3.4 已发布，服务器 10.20.30.40 已更新。", [("ip", "10.20.30.40")]),
    ("Use std::vector and a::b in C++; 12:30:45 is a time.", []),
    ("MAC 3c:22:fb:01:ab:9e is not an IP", []),
    ("Email john.smith@example.com, not john.smith@example or @example.com.",
     [("email", "john.smith@example.com")]),
    ("用户zhangsan@163.com反馈了问题", [("email", "zhangsan@163.com")]),
    ("Phone +86 138 0013 8000 or 010-6552 9988? Landline 010-65529988.",
     [("phone", "+86 138 0013 8000"), ("phone", "010-6552 9988"), ("phone", "010-65529988")]),
    ("Call (212) 555-0143 or 212.555.0143.", [("phone", "(212) 555-0143"), ("phone", "212.555.0143")]),
    ("客服热线10086和12306不算个人电话。", []),
    ("手机13800138000，身份证11010519491231002X。",
     [("phone", "13800138000"), ("id", "11010519491231002X")]),
    ("身份证 11010519491231002x 小写x也要识别", [("id", "11010519491231002x")]),
    ("Wrong ID 110105194912310021 must stay.", []),
    ("IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000.",
     [("iban", "GB82 WEST 1234 5698 7654 32"), ("iban", "DE89370400440532013000")]),
    ("Bad IBAN DE89370400440532013001 stays.", []),
    ("Price $4,111.11 and 1,111,111.11 EUR.", []),
    ("ISBN 978-3-16-148410-0 and ISBN-10 0-306-40615-2.", []),
    ("UPS 1Z999AA10123456784, SF1234567890123.", []),
    ("Meeting on March 3rd, 2025 at 10:00.", [("date", "March 3rd, 2025")]),
    ("Her birthday is 3 Sept 1987.", [("date", "3 Sept 1987")]),
    ("Exp. date 03/2027 is month/year only.", []),
    ("Host [2001:db8::ff00:42:8329]:443 and ::ffff:192.0.2.128 too.",
     [("ip", "2001:db8::ff00:42:8329"), ("ip", "::ffff:192.0.2.128")]),
    ("Quote: 2024-01-02-001 is a ticket id.", []),
    ("Fullwidth digits １３８００１３８０００ are common in Chinese forms.", [("phone", "１３８００１３８０００")]),
    ("US number 2125550143 written without separators.", [("phone", "2125550143")]),
    ("日期二〇二四年一月二日用汉字写。", [("date", "二〇二四年一月二日")]),
]

def hard_cases():
    out = []
    for text, labels in HARD:
        spans = []
        for typ, sub in labels:
            i = text.index(sub)
            start = len(text[:i].encode("utf-8"))
            spans.append({"type": typ, "start": start, "end": start + len(sub.encode("utf-8"))})
        spans.sort(key=lambda s: s["start"])
        out.append({"text": text, "spans": spans, "source": "hard"})
    return out

def main():
    rows = generated(n_pos=700, n_neg=250) + hard_cases()
    for row in rows:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")

if __name__ == "__main__":
    main()
