#include "retrieval/porter_stemmer.h"

#include <cstring>

namespace deepfuse::retrieval {
namespace {

// State of one stemming run over b_[0..k_] (inclusive end, as in the reference algorithm).
class Stemmer {
 public:
  explicit Stemmer(std::string* w) : b_(*w), k_(static_cast<int>(w->size()) - 1) {}

  void run() {
    if (k_ <= 1) return;  // words of one or two letters are not stemmed
    step1ab();
    if (k_ > 0) {
      step1c();
      step2();
      step3();
      step4();
      step5();
    }
    b_.resize(k_ + 1);
  }

 private:
  // True when b_[i] is a consonant; 'y' is a consonant at the start or after a vowel.
  bool cons(int i) const {
    switch (b_[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i == 0 ? true : !cons(i - 1);
      default:
        return true;
    }
  }

  // Number of VC sequences in b_[0..j_]: [C](VC)^m[V].
  int m() const {
    int n = 0;
    int i = 0;
    while (true) {
      if (i > j_) return n;
      if (!cons(i)) break;
      i++;
    }
    i++;
    while (true) {
      while (true) {
        if (i > j_) return n;
        if (cons(i)) break;
        i++;
      }
      i++;
      n++;
      while (true) {
        if (i > j_) return n;
        if (!cons(i)) break;
        i++;
      }
      i++;
    }
  }

  bool vowel_in_stem() const {
    for (int i = 0; i <= j_; i++)
      if (!cons(i)) return true;
    return false;
  }

  bool double_cons(int j) const { return j >= 1 && b_[j] == b_[j - 1] && cons(j); }

  // consonant-vowel-consonant ending at i, where the last consonant is not w, x or y.
  bool cvc(int i) const {
    if (i < 2 || !cons(i) || cons(i - 1) || !cons(i - 2)) return false;
    char ch = b_[i];
    return !(ch == 'w' || ch == 'x' || ch == 'y');
  }

  bool ends(const char* s) {
    int len = static_cast<int>(std::strlen(s));
    if (len > k_ + 1) return false;
    if (b_.compare(k_ - len + 1, len, s) != 0) return false;
    j_ = k_ - len;
    return true;
  }

  void set_to(const char* s) {
    int len = static_cast<int>(std::strlen(s));
    b_.replace(j_ + 1, b_.size() - (j_ + 1), s);
    k_ = j_ + len;
    b_.resize(k_ + 1);
  }

  void r(const char* s) {
    if (m() > 0) set_to(s);
  }

  // Plurals and -ed / -ing.
  void step1ab() {
    if (b_[k_] == 's') {
      if (ends("sses")) {
        k_ -= 2;
      } else if (ends("ies")) {
        set_to("i");
      } else if (b_[k_ - 1] != 's') {
        k_--;
      }
    }
    if (ends("eed")) {
      if (m() > 0) k_--;
    } else if ((ends("ed") || ends("ing")) && vowel_in_stem()) {
      k_ = j_;
      b_.resize(k_ + 1);
      if (ends("at")) {
        set_to("ate");
      } else if (ends("bl")) {
        set_to("ble");
      } else if (ends("iz")) {
        set_to("ize");
      } else if (double_cons(k_)) {
        k_--;
        char ch = b_[k_];
        if (ch == 'l' || ch == 's' || ch == 'z') k_++;
      } else {
        j_ = k_;
        if (m() == 1 && cvc(k_)) set_to("e");
      }
    }
    b_.resize(k_ + 1);
  }

  // Terminal y -> i when there is another vowel in the stem.
  void step1c() {
    if (ends("y") && vowel_in_stem()) b_[k_] = 'i';
  }

  // Double suffixes to single ones (-ization -> -ize ...) when m() > 0.
  void step2() {
    if (k_ < 1) return;
    switch (b_[k_ - 1]) {
      case 'a':
        if (ends("ational")) {
          r("ate");
          break;
        }
        if (ends("tional")) {
          r("tion");
          break;
        }
        break;
      case 'c':
        if (ends("enci")) {
          r("ence");
          break;
        }
        if (ends("anci")) {
          r("ance");
          break;
        }
        break;
      case 'e':
        if (ends("izer")) {
          r("ize");
          break;
        }
        break;
      case 'l':
        if (ends("bli")) {
          r("ble");
          break;
        }
        if (ends("alli")) {
          r("al");
          break;
        }
        if (ends("entli")) {
          r("ent");
          break;
        }
        if (ends("eli")) {
          r("e");
          break;
        }
        if (ends("ousli")) {
          r("ous");
          break;
        }
        break;
      case 'o':
        if (ends("ization")) {
          r("ize");
          break;
        }
        if (ends("ation")) {
          r("ate");
          break;
        }
        if (ends("ator")) {
          r("ate");
          break;
        }
        break;
      case 's':
        if (ends("alism")) {
          r("al");
          break;
        }
        if (ends("iveness")) {
          r("ive");
          break;
        }
        if (ends("fulness")) {
          r("ful");
          break;
        }
        if (ends("ousness")) {
          r("ous");
          break;
        }
        break;
      case 't':
        if (ends("aliti")) {
          r("al");
          break;
        }
        if (ends("iviti")) {
          r("ive");
          break;
        }
        if (ends("biliti")) {
          r("ble");
          break;
        }
        break;
      case 'g':
        if (ends("logi")) {
          r("log");
          break;
        }
        break;
      default:
        break;
    }
  }

  // -ic-, -full, -ness etc.
  void step3() {
    switch (b_[k_]) {
      case 'e':
        if (ends("icate")) {
          r("ic");
          break;
        }
        if (ends("ative")) {
          r("");
          break;
        }
        if (ends("alize")) {
          r("al");
          break;
        }
        break;
      case 'i':
        if (ends("iciti")) {
          r("ic");
          break;
        }
        break;
      case 'l':
        if (ends("ical")) {
          r("ic");
          break;
        }
        if (ends("ful")) {
          r("");
          break;
        }
        break;
      case 's':
        if (ends("ness")) {
          r("");
          break;
        }
        break;
      default:
        break;
    }
  }

  // -ant, -ence etc. in context <c>vcvc<v> (m() > 1).
  void step4() {
    if (k_ < 1) return;
    switch (b_[k_ - 1]) {
      case 'a':
        if (ends("al")) break;
        return;
      case 'c':
        if (ends("ance")) break;
        if (ends("ence")) break;
        return;
      case 'e':
        if (ends("er")) break;
        return;
      case 'i':
        if (ends("ic")) break;
        return;
      case 'l':
        if (ends("able")) break;
        if (ends("ible")) break;
        return;
      case 'n':
        if (ends("ant")) break;
        if (ends("ement")) break;
        if (ends("ment")) break;
        if (ends("ent")) break;
        return;
      case 'o':
        if (ends("ion") && j_ >= 0 && (b_[j_] == 's' || b_[j_] == 't')) break;
        if (ends("ou")) break;
        return;
      case 's':
        if (ends("ism")) break;
        return;
      case 't':
        if (ends("ate")) break;
        if (ends("iti")) break;
        return;
      case 'u':
        if (ends("ous")) break;
        return;
      case 'v':
        if (ends("ive")) break;
        return;
      case 'z':
        if (ends("ize")) break;
        return;
      default:
        return;
    }
    if (m() > 1) {
      k_ = j_;
      b_.resize(k_ + 1);
    }
  }

  // Final -e and -ll.
  void step5() {
    j_ = k_;
    if (b_[k_] == 'e') {
      int a = m();
      if (a > 1 || (a == 1 && !cvc(k_ - 1))) k_--;
    }
    // m() still measures up to the original end (j_), as the reference implementation does.
    if (b_[k_] == 'l' && double_cons(k_) && m() > 1) k_--;
    b_.resize(k_ + 1);
  }

  std::string& b_;
  int k_;
  int j_ = 0;
};

}  // namespace

void porter_stem(std::string* word) {
  if (word->size() < 3) return;
  Stemmer(word).run();
}

}  // namespace deepfuse::retrieval
