//! PHI detection: resident ID numbers (GB 11643-1999 check digit), phones, e-mails, dates,
//! ages, record numbers after their labels, other identifiers, addresses, organisations and
//! personal names (after cues, before a sex marker, or as `某某` forms).

use regex::Regex;

use crate::error::NlpError;
use crate::lexicon::data_lines;
use crate::normalize::{NormText, is_han};
use crate::types::{PhiSpan, PhiType};

const SURNAMES: &str = include_str!("../data/surnames.txt");

/// Characters that cannot be part of a given name right after a surname: function words,
/// sex markers and common verbs of note prose.
const NOT_IN_NAME: &str = "男女因于在诉的和及与为是已今现年岁入出来去等自经持行予由将被对向同陪送电话手机住门诊号主患既无有术病性近反突约以并伴后前时称述告知协助签字表示要求不未否也又均但先生士医师护老科床昨夜晚某之其等携拒同意签署家属我外本当该急血压痛热咳痰喘肿癌瘤炎症疼尿便糖脂酸胃肺肝肾脑腹胸头药片针检治疗院室分次龄烧危度规日侧上下肢膝腿臂眼耳";

/// Common phrases that follow `患者`/`家属` and begin with a surname character (`平素`, `常规`,
/// `高龄`, `左侧`): not names.
const NOT_NAMES_AFTER_CUE: &[&str] = &[
    "平素", "平时", "平卧", "常规", "常年", "高龄", "高热", "高度", "左侧", "右侧", "双侧", "全身",
    "精神", "神志", "意识", "今日", "昨日", "明日", "明显", "于今", "于昨", "于入", "于外", "于我",
    "于本", "于当", "于家", "于门", "于急", "于夜", "于晨", "于凌", "于上", "于下", "于次", "于术",
    "于院", "向医", "时有", "时感", "偶有", "仍有", "安静", "安睡", "钱包", "方可", "方便", "曾于",
    "曾在", "曾因", "曾有", "曾行", "曾患", "曾经", "郑重", "冷汗", "云南", "米饭", "黄疸", "白天",
    "夏季", "秋季", "冬季", "春季", "程度", "胡言", "余无", "余未", "于是",
];

/// Cue words after which a name follows (`患者孔祥林`, `家属：`, `主治医师：`).
const NAME_CUES: &str = r"患者|患儿|病人|家属|其母亲|其父亲|其妻子|其丈夫|其儿子|其女儿|其哥哥|其姐姐|其弟弟|其妹妹|其孙子|其孙女|其妻|其夫|之妻|之夫|妻子|丈夫|儿子|女儿|侄女|侄子|孙子|孙女|外孙女|外孙|儿媳|女婿|其子|其女|其母|其父|其姐|其兄|其弟|其妹|哥哥|姐姐|弟弟|妹妹|父亲|母亲|陪同人|委托人|代理人|接诊医生|值班医生|会诊医生|之女|之子|之母|之父|审核者|书写者|检查者|操作者|报告者|录入者|核对者|申请者|老人|姓名|联系人|监护人|签名|记录者|记录人|记录护士|责任护士|护士|主管医师|主治医师|经治医师|住院医师|报告医师|诊断医师|审核医师|申请医师|送检医师|医师|医生|审核|报告人|患方";

/// Labels after which a name follows only with a colon (`主刀：何勇`); in prose these words
/// are followed by anything (`助手协助`, `主刀医生`).
const NAME_LABELS: &str = r"手术者|术者|主刀|一助|二助|三助|助手|麻醉师|麻醉医师|器械护士|巡回护士|洗手护士|科主任|科室主任|家属签字|患者签字|签字人|陪护人|陪护|护工|授权人|被授权人|紧急联系人|查房医师|上级医师|主任医师|副主任医师|主治医生|管床医生|带教老师";

/// Role words written before a title (`主管医师`, `主任医师`): not names.
const ROLE_WORDS: &[&str] = &[
    "主管",
    "主治",
    "经治",
    "住院",
    "值班",
    "会诊",
    "接诊",
    "责任",
    "记录",
    "报告",
    "审核",
    "申请",
    "送检",
    "诊断",
    "主任",
    "副主任",
    "进修",
    "实习",
    "规培",
    "管床",
    "主刀",
    "麻醉",
    "手术",
    "护理",
    "门诊",
    "急诊",
    "首诊",
    "上级",
    "专科",
    "社区",
    "家庭",
    "签约",
    "随访",
    "主诊",
    "带教",
    "负责",
];

/// Labels of record numbers; the value after them is MRN.
const MRN_LABELS: &str = r"患者ID|病人ID|门诊ID|住院ID|住院号|门诊号|急诊号|病案号|病历号|病理号|检查号|床号|档案号|登记号|影像号|放射号|超声号|标本号|条码号|就诊号|就诊卡号|ID号|流水号|申请单号";

/// Labels of other identifiers.
const OTHER_ID_LABELS: &str = r"医保卡号|社保卡号|医保号|社保号|银行卡号|银行账号|车牌号|车牌|微信号|微信|QQ号|护照号|驾驶证号|军官证号";

/// Suffixes of organisations that hold health data.
const ORG_SUFFIXES: &str = r"社区卫生服务中心|社区卫生服务站|卫生服务中心|妇幼保健院|疾病预防控制中心|疾控中心|急救中心|医疗中心|卫生院|卫生室|医院|诊所|养老院|敬老院|颐养院|护理院|护理中心|康养中心|养老中心|福利院|康复中心|体检中心|医务室|卫生所|门诊部";

/// Words that introduce an address and are not part of it.
const ADDRESS_LEADS: &[&str] = &[
    "现居住地址",
    "现居住地",
    "家庭住址",
    "通讯地址",
    "邮寄地址",
    "现住址",
    "现居住",
    "居住地",
    "现居",
    "居住于",
    "居住在",
    "家住",
    "现住",
    "住址",
    "地址",
    "住在",
    "位于",
    "来自",
    "户籍",
];

/// Compiled PHI patterns.
pub struct PhiRules {
    id_card: Regex,
    phone: Regex,
    landline: Regex,
    email: Regex,
    date: Regex,
    age: Regex,
    mrn: Regex,
    other_id: Regex,
    plate: Regex,
    address_label: Regex,
    address: Regex,
    org: Regex,
    name_cue: Regex,
    name_sex: Regex,
    name_some: Regex,
    name_title: Regex,
    bank_card: Regex,
    phone_label: Regex,
    age_label: Regex,
    infant_age: Regex,
    compact_date: Regex,
    surnames: Surnames,
}

/// Surnames, looked up by length: at a given position at most one surname of each length can
/// match, so trying the lengths longest first finds the same surname as scanning a
/// longest-first list, with one hash lookup per length instead of one comparison per surname.
struct Surnames {
    set: std::collections::HashSet<String>,
    /// Distinct lengths in characters, longest first.
    lengths: Vec<usize>,
}

impl Surnames {
    fn new(list: impl Iterator<Item = String>) -> Self {
        let set: std::collections::HashSet<String> = list.collect();
        let mut lengths: Vec<usize> = set.iter().map(|s| s.chars().count()).collect();
        lengths.sort_unstable_by(|a, b| b.cmp(a));
        lengths.dedup();
        Self { set, lengths }
    }

    fn contains(&self, s: &str) -> bool {
        self.set.contains(s)
    }

    /// Byte length of the longest surname that starts `s`.
    fn prefix_len(&self, s: &str) -> Option<usize> {
        self.lengths.iter().find_map(|&n| {
            let end = s.char_indices().nth(n).map_or(s.len(), |(b, _)| b);
            let head = s.get(..end)?;
            (head.chars().count() == n && self.set.contains(head)).then_some(end)
        })
    }

    /// Byte length of the longest surname that ends `s`.
    fn suffix_len(&self, s: &str) -> Option<usize> {
        self.lengths.iter().find_map(|&n| {
            let start = if n == 0 {
                s.len()
            } else {
                s.char_indices().rev().nth(n - 1)?.0
            };
            let tail = s.get(start..)?;
            self.set.contains(tail).then_some(tail.len())
        })
    }
}

/// The cues of a name as one alternation, longer cues first: at one position the regex
/// engine takes the first alternative that matches, so `其母` would otherwise win over
/// `其母亲` (leaving `亲` where the name should begin) and `家属` over `家属签字：`. Labels
/// carry the colon they need.
fn name_cues() -> String {
    let mut cues: Vec<(usize, String)> = NAME_CUES
        .split('|')
        .map(|cue| (cue.chars().count(), cue.to_owned()))
        .chain(
            NAME_LABELS
                .split('|')
                .map(|label| (label.chars().count(), format!("{label}[:：]"))),
        )
        .collect();
    cues.sort_by_key(|(chars, _)| std::cmp::Reverse(*chars));
    cues.into_iter()
        .map(|(_, cue)| cue)
        .collect::<Vec<_>>()
        .join("|")
}

fn compile(name: &'static str, pattern: &str) -> Result<Regex, NlpError> {
    Regex::new(pattern).map_err(|e| NlpError::Pattern {
        name,
        reason: e.to_string(),
    })
}

impl PhiRules {
    /// Compiles the patterns.
    pub fn load() -> Result<Self, NlpError> {
        let surnames: Vec<String> = data_lines(SURNAMES)
            .flat_map(str::split_whitespace)
            .map(str::to_string)
            .collect();
        Ok(Self {
            id_card: compile("id_card", r"\d{17}[\dXx]")?,
            phone: compile("phone", r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}")?,
            landline: compile("landline", r"\(?0\d{2,3}\)?[- ]?\d{7,8}(?:-\d{1,5})?")?,
            email: compile("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")?,
            date: compile(
                "date",
                r"(?:19|20)\d{2}年\d{1,2}月(?:\d{1,2}[日号])?|(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}|(?:19|20)\d{2}[-/.]\d{1,2}|\d{1,2}月\d{1,2}[日号]|[一二][九〇○零][〇○零一二三四五六七八九]{2}年[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号])?",
            )?,
            age: compile(
                "age",
                r"(\d{1,3})(?:余|多)?(?:周岁|岁半|岁(?:\d{1,2}个?月)?|个月龄|月龄|日龄|天龄|周龄)",
            )?,
            mrn: compile(
                "mrn",
                &format!(r"(?:{MRN_LABELS})[:：\s]*([A-Za-z0-9][A-Za-z0-9\-_]*)"),
            )?,
            other_id: compile(
                "other_id",
                &format!(r"(?:{OTHER_ID_LABELS})[:：\s]*(\p{{Han}}?[A-Za-z0-9][A-Za-z0-9·\-_.]*)"),
            )?,
            plate: compile(
                "plate",
                r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z]·?[A-Z0-9]{5,6}",
            )?,
            address_label: compile(
                "address_label",
                r"(?:现居住地址|现居住地|家庭住址|现住址|户籍地址|单位地址|联系地址|居住地址|通讯地址|邮寄地址|现居住|户籍地|居住地|住址|地址|家住|现住|现居|居住于)[:：\s]*([^\s,，。;；]{4,60})",
            )?,
            address: compile(
                "address",
                r"(?:\p{Han}{2,7}(?:省|自治区))?(?:\p{Han}{1,6}市)?\p{Han}{1,6}(?:区|县|市|镇|乡)[\p{Han}A-Za-z0-9\-]{0,40}?(?:\d+号(?:[\p{Han}A-Za-z0-9]{0,12}?\d+(?:幢|栋|单元|室|楼|号))*|\p{Han}{1,8}村(?:\d+组)?|\p{Han}{1,10}(?:小区|花园|公寓|大厦|新村)(?:\d+(?:幢|栋|单元|室|楼|号))*|\p{Han}{1,6}街道)",
            )?,
            org: compile(
                "org",
                &format!(r"[\p{{Han}}0-9]{{2,20}}?(?:{ORG_SUFFIXES})"),
            )?,
            name_cue: compile("name_cue", &format!(r"(?:{})[:：\s]*", name_cues()))?,
            name_sex: compile(r"name_sex", r"(\p{Han}{2,4})[\s,，、]+[男女][\s,，、]")?,
            name_some: compile("name_some", r"\p{Han}{1,2}某某?")?,
            bank_card: compile("bank_card", r"\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?")?,
            name_title: compile(
                "name_title",
                r"\p{Han}{1,3}(?:医生|医师|护士长|护士|主任|教授|大夫|先生|女士|老师|阿姨|师傅)",
            )?,
            phone_label: compile(
                "phone_label",
                r"(?:联系电话|联系方式|电话|手机|手机号|Tel|TEL|tel)[:：\s]*(\d[\d\- ]{5,14}\d)",
            )?,
            age_label: compile("age_label", r"年龄[:：\s]*(\d{1,3})")?,
            infant_age: compile(
                "infant_age",
                r"[男女][\s,，、]*(\d{1,2}(?:个月|月|天|周|日)(?:\d{1,2}天)?)(?:[\s,，、。]|$)",
            )?,
            compact_date: compile(
                "compact_date",
                r"(?:日期|时间|入院|出院|就诊|检查|报告|采集|收检)[:：\s]*((?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))",
            )?,
            surnames: Surnames::new(surnames.into_iter()),
        })
    }

    /// All PHI spans of a note, non-overlapping, in order.
    pub fn find(&self, norm: &NormText<'_>) -> Vec<PhiSpan> {
        let t = norm.text();
        let shape = Shape::of(norm.chars());
        let mut found: Vec<(usize, usize, PhiType, u8)> = Vec::new();
        self.find_ids(t, &shape, &mut found);
        self.find_labelled(t, &shape, &mut found);
        self.find_dates_ages(t, &mut found);
        self.find_places(t, &mut found);
        self.find_names(norm, &shape, &mut found);
        add_name_repeats(t, &mut found);
        resolve(norm, found)
    }

    fn find_ids(&self, t: &str, shape: &Shape, out: &mut Vec<(usize, usize, PhiType, u8)>) {
        // Each pattern below runs only where the note can hold a match (see `Shape`).
        let id_cards = (shape.longest_digit_run >= 17).then(|| self.id_card.find_iter(t));
        for m in id_cards.into_iter().flatten() {
            if digit_bounded(t, m.start(), m.end())
                && (id_checksum_ok(m.as_str()) || labelled_id(t, m.start()))
            {
                out.push((m.start(), m.end(), PhiType::IdCard, 0));
            }
        }
        let phones = (shape.most_digits_in_number >= 11).then(|| self.phone.find_iter(t));
        for m in phones.into_iter().flatten() {
            if digit_bounded(t, m.start(), m.end()) {
                out.push((m.start(), m.end(), PhiType::Phone, 1));
            }
        }
        let landlines = (shape.most_digits_in_number >= 10).then(|| self.landline.find_iter(t));
        for m in landlines.into_iter().flatten() {
            let s = m.as_str();
            if digit_bounded(t, m.start(), m.end()) && (s.contains('-') || s.contains(')')) {
                out.push((m.start(), m.end(), PhiType::Phone, 1));
            }
        }
        for c in self.phone_label.captures_iter(t) {
            if let Some(v) = c.get(1) {
                out.push((v.start(), v.end(), PhiType::Phone, 1));
            }
        }
        for m in self.email.find_iter(t) {
            out.push((m.start(), m.end(), PhiType::Email, 1));
        }
    }

    fn find_labelled(&self, t: &str, shape: &Shape, out: &mut Vec<(usize, usize, PhiType, u8)>) {
        for c in self.other_id.captures_iter(t) {
            if let Some(v) = c.get(1) {
                out.push((v.start(), v.end(), PhiType::OtherId, 2));
            }
        }
        let cards = (shape.most_digits_in_number >= 12).then(|| self.bank_card.find_iter(t));
        for m in cards.into_iter().flatten() {
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            let grouped = m.as_str().contains([' ', '-']);
            let card_len = (16..=19).contains(&digits.len());
            if digit_bounded(t, m.start(), m.end()) && card_len && (grouped || luhn_ok(&digits)) {
                out.push((m.start(), m.end(), PhiType::OtherId, 2));
            }
        }
        let plates = shape
            .capital_after_non_ascii
            .then(|| self.plate.find_iter(t));
        for m in plates.into_iter().flatten() {
            out.push((m.start(), m.end(), PhiType::OtherId, 2));
        }
        for c in self.mrn.captures_iter(t) {
            if let Some(v) = c.get(1) {
                out.push((v.start(), v.end(), PhiType::Mrn, 3));
            }
        }
    }

    fn find_dates_ages(&self, t: &str, out: &mut Vec<(usize, usize, PhiType, u8)>) {
        for m in self.date.find_iter(t) {
            if digit_bounded(t, m.start(), m.end()) {
                out.push((m.start(), m.end(), PhiType::Date, 4));
            }
        }
        for re in [&self.age_label, &self.infant_age] {
            for c in re.captures_iter(t) {
                if let Some(v) = c.get(1) {
                    out.push((v.start(), v.end(), PhiType::Age, 5));
                }
            }
        }
        for c in self.compact_date.captures_iter(t) {
            if let Some(v) = c.get(1) {
                out.push((v.start(), v.end(), PhiType::Date, 4));
            }
        }
        for m in self.age.find_iter(t) {
            if !t
                .get(..m.start())
                .and_then(|x| x.chars().next_back())
                .is_some_and(|c| c.is_ascii_digit())
            {
                out.push((m.start(), m.end(), PhiType::Age, 5));
            }
        }
    }

    fn find_places(&self, t: &str, out: &mut Vec<(usize, usize, PhiType, u8)>) {
        for c in self.address_label.captures_iter(t) {
            if let Some(v) = c.get(1) {
                out.push((v.start(), v.end(), PhiType::Address, 6));
            }
        }
        for m in self.address.find_iter(t) {
            let lead = ADDRESS_LEADS
                .iter()
                .find(|l| m.as_str().starts_with(*l))
                .map_or(0, |l| l.len());
            out.push((m.start() + lead, m.end(), PhiType::Address, 6));
        }
        for m in self.org.find_iter(t) {
            if let Some(s) = org_start(t, m.start(), m.end()) {
                out.push((s, m.end(), PhiType::Org, 7));
            }
        }
    }

    fn find_names(
        &self,
        norm: &NormText<'_>,
        shape: &Shape,
        out: &mut Vec<(usize, usize, PhiType, u8)>,
    ) {
        let t = norm.text();
        for m in self.name_cue.find_iter(t) {
            let rest = t.get(m.end()..).unwrap_or("");
            if NOT_NAMES_AFTER_CUE.iter().any(|p| rest.starts_with(p)) {
                continue;
            }
            if let Some(len) = self.name_len(rest) {
                out.push((m.end(), m.end() + len, PhiType::Name, 8));
            }
        }
        for c in self.name_sex.captures_iter(t) {
            let Some(g) = c.get(1) else { continue };
            // The candidate may carry words before the name (`记录 王五`): keep the tail.
            let s = g.as_str();
            for (off, _) in s.char_indices() {
                let tail = s.get(off..).unwrap_or("");
                if tail.chars().count() < 2 {
                    break;
                }
                if self.name_len(tail) == Some(tail.len()) {
                    out.push((g.start() + off, g.end(), PhiType::Name, 8));
                    break;
                }
            }
        }
        for m in self.name_title.find_iter(t) {
            // `王主任`, `李建国医生`: the name is the part before the title.
            let s = m.as_str();
            let title_len = [
                "医生",
                "医师",
                "护士长",
                "护士",
                "主任",
                "教授",
                "大夫",
                "先生",
                "女士",
                "老师",
                "阿姨",
                "师傅",
            ]
            .iter()
            .find(|x| s.ends_with(*x))
            .map_or(0, |x| x.len());
            // `张主任医师`, `李副主任`: role words may stand between the name and the title;
            // with nothing before them (`主治医师`) there is no name.
            let mut head = s.get(..s.len() - title_len).unwrap_or("");
            while let Some(role) = ROLE_WORDS.iter().find(|r| head.ends_with(*r)) {
                head = head.get(..head.len() - role.len()).unwrap_or("");
            }
            head = head.strip_suffix('副').unwrap_or(head);
            if head.is_empty() {
                continue;
            }
            for (off, _) in head.char_indices() {
                let tail = head.get(off..).unwrap_or("");
                if self.surnames.contains(tail) || self.name_len(tail) == Some(tail.len()) {
                    out.push((m.start() + off, m.start() + head.len(), PhiType::Name, 9));
                    break;
                }
            }
        }
        let some_forms = shape.has_mou.then(|| self.name_some.find_iter(t));
        for m in some_forms.into_iter().flatten() {
            let s = m.as_str();
            let stem_len = s.find('某').unwrap_or(0);
            let stem = s.get(..stem_len).unwrap_or("");
            if self.surnames.contains(stem) {
                out.push((m.start(), m.end(), PhiType::Name, 8));
            } else if let Some(sur_len) = self.surnames.suffix_len(stem) {
                out.push((m.start() + stem_len - sur_len, m.end(), PhiType::Name, 8));
            }
        }
    }

    /// Byte length of a name at the start of `s`: a surname and one or two given-name
    /// characters, or a surname with `某`/`某某`.
    fn name_len(&self, s: &str) -> Option<usize> {
        let sur_len = self.surnames.prefix_len(s)?;
        let rest = s.get(sur_len..)?;
        let mut len = sur_len;
        let mut given = 0;
        for c in rest.chars() {
            if given >= 2 || !is_han(c) || (c != '某' && NOT_IN_NAME.contains(c)) {
                break;
            }
            len += c.len_utf8();
            given += 1;
        }
        if counts_time(rest) {
            // `患者于三天前`, `于二〇二四年`: the surname-like 于 begins a time, not a name.
            return None;
        }
        (given > 0).then_some(len)
    }
}

/// Whether text opens with a numeral and a unit of time or count (`三天`, `一周`, `半年`,
/// `二〇`). After a character that can be a surname this is a time, not a given name:
/// in `患者于三天前` the 于 is the preposition.
fn counts_time(text: &str) -> bool {
    const NUMERALS: &str = "一二三四五六七八九十两半〇零百千几数";
    const UNITS: &str = "天周月年日时分秒个余多小次岁〇";
    let mut chars = text.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some(n), Some(u)) if NUMERALS.contains(n) && (UNITS.contains(u) || NUMERALS.contains(u))
    )
}

/// What a note must hold for some patterns to match at all, found in one pass so that those
/// patterns scan only the notes where they can match. Every figure over-counts (any numeric
/// character counts as a digit, a superset of the patterns' `\d`), so no match is ever skipped.
struct Shape {
    /// Longest run of numeric characters (`id_card` needs 17).
    longest_digit_run: usize,
    /// Most numeric characters in one run of numerals, spaces, `+`, `-` and brackets (`phone`
    /// needs 11, `landline` 10, `bank_card` 12).
    most_digits_in_number: usize,
    /// An ASCII capital right after a non-ASCII character (`plate`: province + letter).
    capital_after_non_ascii: bool,
    /// A `某` (`name_some`).
    has_mou: bool,
}

impl Shape {
    fn of(chars: &[char]) -> Self {
        let mut shape = Self {
            longest_digit_run: 0,
            most_digits_in_number: 0,
            capital_after_non_ascii: false,
            has_mou: false,
        };
        let (mut run, mut in_number) = (0, 0);
        let mut prev_non_ascii = false;
        for &c in chars {
            // Han characters are letters (`Lo`), so only other non-ASCII ones need the table.
            let numeric = if c.is_ascii() {
                c.is_ascii_digit()
            } else {
                !is_han(c) && c.is_numeric()
            };
            if numeric {
                run += 1;
                in_number += 1;
                shape.longest_digit_run = shape.longest_digit_run.max(run);
                shape.most_digits_in_number = shape.most_digits_in_number.max(in_number);
            } else {
                run = 0;
                if !matches!(c, ' ' | '+' | '-' | '(' | ')') {
                    in_number = 0;
                }
            }
            if c.is_ascii_uppercase() && prev_non_ascii {
                shape.capital_after_non_ascii = true;
            }
            shape.has_mou |= c == '某';
            prev_non_ascii = !c.is_ascii();
        }
        shape
    }
}

/// Every further occurrence of a detected full name (two characters or more, not a `某` form)
/// is a name too (`孔祥林` named once after `患者`, later alone). All occurrences are listed,
/// overlapping ones included; `resolve` keeps the earliest and longest.
fn add_name_repeats(t: &str, found: &mut Vec<(usize, usize, PhiType, u8)>) {
    let mut names: Vec<&str> = found
        .iter()
        .filter(|f| f.2 == PhiType::Name)
        .filter_map(|f| t.get(f.0..f.1))
        .filter(|n| n.chars().count() >= 2 && !n.contains('某'))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut extra = Vec::new();
    if names.len() <= FEW_NAMES {
        // A note names a handful of people: a substring search per name beats building an
        // automaton for every note.
        for name in names {
            let step = name.chars().next().map_or(1, char::len_utf8);
            let mut from = 0;
            while let Some(i) = t.get(from..).and_then(|rest| rest.find(name)) {
                extra.push((from + i, from + i + name.len(), PhiType::Name, 10));
                from += i + step;
            }
        }
    } else if let Ok(ac) = aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
        .build(&names)
    {
        extra.extend(
            ac.find_overlapping_iter(t)
                .map(|m| (m.start(), m.end(), PhiType::Name, 10)),
        );
    }
    found.extend(extra);
}

/// Up to this many distinct names, repeats are found by plain substring search.
const FEW_NAMES: usize = 16;

/// Whether the digit run `s..e` is not glued to further digits.
fn digit_bounded(t: &str, s: usize, e: usize) -> bool {
    let before = t.get(..s).and_then(|x| x.chars().next_back());
    let after = t.get(e..).and_then(|x| x.chars().next());
    !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
}

fn labelled_id(t: &str, s: usize) -> bool {
    t.get(..s)
        .map(|b| b.trim_end_matches([':', ' ', '：']))
        .is_some_and(|b| b.ends_with("身份证号") || b.ends_with("身份证") || b.ends_with("证件号"))
}

/// Luhn (ISO/IEC 7812-1) check of a payment card number.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(d) = c.to_digit(10) else {
            return false;
        };
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    !digits.is_empty() && sum % 10 == 0
}

/// GB 11643-1999 MOD 11-2 check digit of an 18-character resident ID number.
pub fn id_checksum_ok(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut sum = 0u32;
    for (c, w) in chars.iter().zip(WEIGHTS) {
        match c.to_digit(10) {
            Some(d) => sum += d * w,
            None => return false,
        }
    }
    let expected = CHECK.get((sum % 11) as usize).copied();
    chars
        .get(17)
        .map(|c| c.to_ascii_uppercase())
        .is_some_and(|c| Some(c) == expected)
}

/// Left edge of an organisation name ending at `e`: drop leading words that introduce it
/// (`曾于`, `送至`, `转入`) and reject generic references (`本院`, `我院`, `上级医院`).
fn org_start(t: &str, s: usize, e: usize) -> Option<usize> {
    const INTRO: &[char] = &[
        '住', '居', '于', '在', '至', '到', '往', '从', '由', '经', '送', '赴', '转', '去', '入',
        '曾', '就', '自', '及', '和', '与', '的', '诊', '来', '回',
    ];
    // Names in which one of those characters belongs to the name itself (北京协和医院,
    // 和平县, 自贡市, 来宾市): there it introduces nothing.
    const WITHIN_NAMES: &[&str] = &["协和", "仁和", "和平", "太和", "永和", "自贡", "来宾"];
    let span = t.get(s..e)?;
    let mut start = s;
    for (off, c) in span.char_indices() {
        let within_name = WITHIN_NAMES.iter().any(|word| {
            span.get(off..).is_some_and(|rest| rest.starts_with(word))
                || span
                    .get(..off + c.len_utf8())
                    .is_some_and(|head| head.ends_with(word))
        });
        if INTRO.contains(&c) && !within_name {
            start = s + off + c.len_utf8();
        }
    }
    let name = t.get(start..e)?;
    let generic = [
        "本院",
        "我院",
        "外院",
        "该院",
        "当地医院",
        "上级医院",
        "医院",
        "卫生院",
        "诊所",
        "养老院",
    ];
    let bare_suffix = ORG_SUFFIXES.split('|').any(|x| x == name);
    if bare_suffix || generic.contains(&name) || name.chars().count() < 4 {
        return None;
    }
    Some(start)
}

/// Keeps the earliest, then highest-priority, then longest span where spans overlap.
fn resolve(norm: &NormText<'_>, mut found: Vec<(usize, usize, PhiType, u8)>) -> Vec<PhiSpan> {
    found.sort_by_key(|&(s, e, _, p)| (p, s, std::cmp::Reverse(e)));
    // Kept spans keyed by start; an overlap can only be with the neighbour on either side.
    let mut kept: std::collections::BTreeMap<usize, (usize, PhiType)> =
        std::collections::BTreeMap::new();
    for (s, e, k, _) in found {
        let before_ok = kept
            .range(..=s)
            .next_back()
            .is_none_or(|(_, &(ke, _))| ke <= s);
        let after_ok = kept.range(s..).next().is_none_or(|(&ks, _)| e <= ks);
        if e > s && before_ok && after_ok {
            kept.insert(s, (e, k));
        }
    }
    kept.into_iter()
        .map(|(s, (e, k))| (s, e, k))
        .map(|(s, e, kind)| {
            let (cs, ce) = (norm.char_at_byte(s), norm.char_at_byte(e));
            let text = norm.original_slice(cs, ce);
            let phi = (kind == PhiType::Age).then(|| age_is_phi(norm.slice(cs, ce)));
            PhiSpan {
                start: cs,
                end: ce,
                text,
                kind,
                phi,
            }
        })
        .collect()
}

/// Ages of 90 years or more identify a person (HIPAA Safe Harbor rule).
fn age_is_phi(age: &str) -> bool {
    let digits: String = age.chars().take_while(char::is_ascii_digit).collect();
    let years = !age.contains(['月', '天', '周', '日']);
    years && digits.parse::<u32>().is_ok_and(|n| n >= 90)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Vec<(String, PhiType)> {
        PhiRules::load()
            .unwrap()
            .find(&NormText::new(text))
            .into_iter()
            .map(|p| (p.text, p.kind))
            .collect()
    }

    #[test]
    fn luhn_and_bank_cards() {
        // Published Luhn test number (ISO/IEC 7812 example "79927398713").
        assert!(luhn_ok("79927398713"));
        assert!(!luhn_ok("79927398710"));
        let got = find("银行卡一张（卡号6217 0012 3456 7890 123），另卡4111111111111111");
        assert!(
            got.contains(&("6217 0012 3456 7890 123".into(), PhiType::OtherId)),
            "{got:?}"
        );
        assert!(
            got.contains(&("4111111111111111".into(), PhiType::OtherId)),
            "{got:?}"
        );
    }

    #[test]
    fn gb11643_check_digit() {
        // Worked example of GB 11643-1999 (check digit X).
        assert!(id_checksum_ok("11010519491231002X"));
        assert!(!id_checksum_ok("110105194912310021"));
        assert!(!id_checksum_ok("11010519491231002"));
    }

    #[test]
    fn common_words_after_cues_are_not_names() {
        let got = find(
            "患者高龄，患者平素体健，患者左侧肢体无力，患者常规服药，父亲有高血压，签名：张医生。",
        );
        assert_eq!(got, vec![("张".to_string(), PhiType::Name)]);
        let got = find("患者李素芬，女，患者之女王天佑陪同。");
        assert!(got.contains(&("李素芬".into(), PhiType::Name)), "{got:?}");
        assert!(got.contains(&("王天佑".into(), PhiType::Name)), "{got:?}");
        let got = find("患者平素体健。");
        assert!(got.iter().all(|g| g.1 != PhiType::Name), "{got:?}");
    }

    #[test]
    fn names_by_title_repeat_and_labels() {
        let got = find("王建国医生查房，王建国嘱复查。年龄：67　电话：86013327　患儿，男，8个月。");
        assert_eq!(got.iter().filter(|g| g.0 == "王建国").count(), 2, "{got:?}");
        assert!(got.contains(&("67".into(), PhiType::Age)), "{got:?}");
        assert!(
            got.contains(&("86013327".into(), PhiType::Phone)),
            "{got:?}"
        );
        assert!(got.contains(&("8个月".into(), PhiType::Age)), "{got:?}");
    }

    #[test]
    fn kin_cues_roles_before_titles_and_times_after_yu() {
        let got = find("由其母亲李桂芳陪同，其父亲王大明代诉。张主任医师查房，李副主任医师会诊。");
        for name in ["李桂芳", "王大明", "张", "李"] {
            assert!(
                got.contains(&(name.into(), PhiType::Name)),
                "{name}: {got:?}"
            );
        }
        // 于 is a surname and a preposition: before a duration or a date it is the latter.
        let got = find("患者于三天前出现咳嗽，于一周前受凉，于二〇二四年三月十二日就诊。");
        assert!(!got.iter().any(|(_, k)| *k == PhiType::Name), "{got:?}");
        assert!(
            got.contains(&("二〇二四年三月十二日".into(), PhiType::Date)),
            "{got:?}"
        );
        // Role words alone before a title name nobody.
        assert!(find("主治医师查房，上级医师指示。").is_empty());
    }

    #[test]
    fn names_after_labels_of_operation_and_consent_records() {
        let got = find(
            "手术者：刘建军　一助：陈晓　主刀：何勇　家属签字：吴刚（父子关系）　科主任：郑海涛",
        );
        for name in ["刘建军", "陈晓", "何勇", "吴刚", "郑海涛"] {
            assert!(
                got.contains(&(name.into(), PhiType::Name)),
                "{name}: {got:?}"
            );
        }
        // Without the colon the same words are prose.
        assert!(find("由助手协助完成，主刀医生查看").is_empty());
    }

    #[test]
    fn addresses_after_their_labels() {
        for (text, address) in [
            ("现居北京市朝阳区望京街10号", "北京市朝阳区望京街10号"),
            (
                "通讯地址：浙江省宁波市海曙区中山西路2号",
                "浙江省宁波市海曙区中山西路2号",
            ),
        ] {
            let got = find(text);
            assert!(
                got.contains(&(address.into(), PhiType::Address)),
                "{text}: {got:?}"
            );
        }
    }

    #[test]
    fn names_ids_and_contacts() {
        let got =
            find("患者张伟，男，93岁，身份证11010519491231002X，电话13912345678，邮箱a.b@x.cn");
        assert!(got.contains(&("张伟".into(), PhiType::Name)), "{got:?}");
        assert!(got.contains(&("93岁".into(), PhiType::Age)));
        assert!(got.contains(&("11010519491231002X".into(), PhiType::IdCard)));
        assert!(got.contains(&("13912345678".into(), PhiType::Phone)));
        assert!(got.contains(&("a.b@x.cn".into(), PhiType::Email)));
    }

    #[test]
    fn record_numbers_dates_and_orgs() {
        let got =
            find("住院号：ZY123-4，2024年3月7日曾于杭州市第一人民医院就诊，医保卡号：330102K7");
        assert!(got.contains(&("ZY123-4".into(), PhiType::Mrn)), "{got:?}");
        assert!(got.contains(&("2024年3月7日".into(), PhiType::Date)));
        assert!(
            got.contains(&("杭州市第一人民医院".into(), PhiType::Org)),
            "{got:?}"
        );
        assert!(got.contains(&("330102K7".into(), PhiType::OtherId)));
    }

    #[test]
    fn organisations_whose_names_hold_a_linking_character() {
        for (text, org) in [
            ("2019年在北京协和医院行阑尾切除术", "北京协和医院"),
            ("曾于和平县人民医院住院", "和平县人民医院"),
            ("转自自贡市第一人民医院", "自贡市第一人民医院"),
        ] {
            let got = find(text);
            assert!(got.contains(&(org.into(), PhiType::Org)), "{text}: {got:?}");
        }
        // A generic place after a linking word is still not an organisation.
        assert!(
            !find("患者在家中摔倒后送至医院")
                .iter()
                .any(|(_, k)| *k == PhiType::Org)
        );
        assert!(
            !find("回当地医院继续治疗")
                .iter()
                .any(|(_, k)| *k == PhiType::Org)
        );
    }

    #[test]
    fn patterns_skipped_by_shape_still_match_where_they_can() {
        // `\d` takes any decimal digit, so the pre-check must count non-ASCII numerals too.
        let arabic_indic: String = "١١٠١٠٥١٩٤٩١٢٣١٠٠٢".chars().chain(['X']).collect();
        let got = find(&format!(
            "身份证：{arabic_indic}，车牌浙A·12345，王某某陪同"
        ));
        assert!(got.contains(&(arabic_indic, PhiType::IdCard)), "{got:?}");
        assert!(
            got.contains(&("浙A·12345".into(), PhiType::OtherId)),
            "{got:?}"
        );
        assert!(got.contains(&("王某某".into(), PhiType::Name)), "{got:?}");
        let shape = Shape::of(&"电话 021-6543 2100".chars().collect::<Vec<_>>());
        assert_eq!(
            (shape.longest_digit_run, shape.most_digits_in_number),
            (4, 11)
        );
    }

    #[test]
    fn age_flag_only_from_ninety() {
        let p = PhiRules::load()
            .unwrap()
            .find(&NormText::new("78岁，其母93岁"));
        assert_eq!(p[0].phi, Some(false));
        assert_eq!(p[1].phi, Some(true));
    }
}
