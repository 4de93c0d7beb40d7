"""Words that never name a cluster: stop words for en, ru and zh, markup, chat and prompt templates.

Written for the cluster tagger (:mod:`taggers.cluster`) by looking at what dominated the
names of clusters of real instruction data (Alpaca and LIMA in English, rulm and MT-Bench in
Russian, the translated Alpaca and MedicalGPT in Chinese; ``benchmarks/bench_cluster_names.py``):
besides function words, the words of the prompt templates themselves ("the following",
"given", "write", "请", "以下", "Напишите") and leftovers of markup and chat templates
(``<br>``, ``&nbsp;``, ``<|im_start|>``, ``[INST]``, ``<eoh>``). No list was copied from
another package. Words are matched lowercased, as they appear in the text (Russian forms are
listed one by one, not stemmed: ``данные`` is "data", ``данный`` is "given").
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: English function words: articles, pronouns, auxiliaries, prepositions, conjunctions, adverbs,
#: number words, contractions
ENGLISH = _words(
    """
    a an the this that these those there here such same own other others another
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs themselves
    one ones oneself someone somebody something anyone anybody anything everyone everybody
    everything noone nobody nothing somewhere anywhere everywhere nowhere
    who whom whose which what whatever whichever whoever when whenever where wherever why how
    however whether
    am is are was were be been being do does did doing done have has had having
    can could will would shall should may might must ought need needs needed
    get gets got getting gotten go goes going gone went come comes came coming
    let lets make makes made making take takes took taken taking put puts
    say says said saying see sees saw seen look looks looked looking
    know knows knew known think thinks thought want wants wanted like likes liked
    try tries tried trying keep keeps kept seem seems seemed become becomes became
    use uses used using include includes included including
    of in on at by for with without within from to into onto upon out off over under
    above below up down about against between among amongst through throughout during
    before after since until till across along around behind beside besides beyond
    near toward towards via per than as
    and or but nor so yet if then else because although though while unless whereas
    also too very really quite rather just only even still already again ever never
    always often sometimes usually perhaps maybe almost enough much many more most less
    least few fewer several some any all both each every either neither none no not
    yes ok okay well now soon later today yesterday tomorrow ago once twice
    thus therefore hence otherwise instead indeed especially etc eg ie vs
    first second third fourth fifth last next previous former latter
    two three four five six seven eight nine ten hundred thousand million
    lot lots bit way ways thing things stuff kind kinds type types part parts
    good better best bad great big small little large new old long short high low
    able unable possible different various certain sure true false right wrong
    don't doesn't didn't can't cannot couldn't won't wouldn't shouldn't isn't aren't
    wasn't weren't haven't hasn't hadn't i'm i've i'll i'd you're you've you'll you'd
    he's she's it's we're we've we'll they're they've they'll that's there's what's
    let's who's here's how's where's
    don doesn didn couldn wouldn shouldn isn aren wasn weren haven hasn hadn won
    """
)

#: words of English instruction templates ("Write a ... for the following ...", "Given ...")
ENGLISH_PROMPT = _words(
    """
    please following follow follows given give gives giving gave write writes writing
    wrote written generate generates generating create creates creating provide provides
    providing describe describes describing explain explains explaining tell tells telling
    list lists listing identify find finds suggest suggests come name names
    input inputs output outputs instruction instructions task tasks response responses
    respond answer answers answered question questions ask asked asking
    example examples e.g i.e below above based according regarding related
    help helps helping need thanks thank hello hi hey dear sure certainly
    assistant user system chatbot
    """
)

RUSSIAN = _words(
    """
    и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по
    только ее её мне было вот от меня еще ещё нет о об обо из ему теперь когда даже ну вдруг ли
    если уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя
    ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без
    будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой
    совсем ним здесь этом один почти мой тем чтобы нее неё сейчас были куда зачем всех
    никогда можно при наконец два об другой хоть после над больше тот через эти нас
    про всего них какая много разве три эту моя впрочем хорошо свою этой перед
    иногда лучше чуть том нельзя такой им более всегда конечно всю между
    это эта эти этим этих этими этому такая такое такие таких таким такими
    какие каких каким какими какое какую каком каково
    который которая которое которые которого которой которому котором которую которых которым которыми
    свой своя своё свое свои своих своим своими своего своей своему своём своем
    весь вся всем всеми всему всей всего
    каждый каждая каждое каждые каждого каждой каждому каждом каждую каждых
    другие других другим другими другое другая другую другого другой другом
    мой моё мое мои моих моим моего моей моему твой твоя твоё твое твои твоих твоего
    наш наша наше наши наших нашим нашего нашей ваш ваша ваше ваши ваших вашим вашего вашей
    он она оно они его её ее ему ей ими нём нем ней них нему неё
    я меня мне мной мною ты тебя тебе тобой вы вас вам вами мы нас нам нами
    себя себе собой сам сама само сами самого самой самому самых самый самая самое
    очень также тоже либо нибудь чтото что-то как-то кто-то где-то какой-то
    еще ещё уже лишь именно просто ровно вообще вроде типа кстати например
    более менее наиболее весьма довольно слишком почти
    может могу можешь можете могут мог могла могли могло можно нужно надо нужен нужна нужны
    должен должна должно должны
    будет буду будешь будем будете будут была было были есть является являются являлся
    быть стать стал стала стали станет
    сказал сказала говорит говорил говорила
    первый первая первое первые первого второй второе второго третий
    два две три четыре пять шесть семь восемь девять десять
    сегодня завтра вчера сейчас теперь тогда потом затем всегда никогда иногда
    здесь там тут туда сюда оттуда отсюда где куда откуда
    почему зачем отчего как сколько насколько
    над под перед после через между среди около возле вокруг кроме вместо ради из-за из-под
    о об обо от до для без при про по к ко с со у в во на за из
    ли же бы ж ведь вот вон даже лишь только разве неужели
    """
)

#: words of Russian instruction templates ("Напишите ...", "Опишите следующий ...")
RUSSIAN_PROMPT = _words(
    """
    пожалуйста спасибо привет здравствуйте
    напиши напишите написать напишем опиши опишите описать расскажи расскажите рассказать
    объясни объясните объяснить приведи приведите привести придумай придумайте придумать
    составь составьте составить перечисли перечислите перечислить назови назовите назвать
    дай дайте дать сделай сделайте сделать помоги помогите помочь предложи предложите
    предложить создай создайте создать сгенерируй сгенерируйте определи определите определить
    ответь ответьте ответить найди найдите найти представь представьте представить
    используй используйте использовать использовать используя скажи скажите сказать
    покажи покажите показать подскажи подскажите подскажите выбери выберите
    следующий следующая следующее следующие следующего следующей следующему следующем
    следующую следующих следующим следующими
    данный данная данное данного данной данному данном данную
    ниже выше приведенный приведённый приведенного приведенном
    ответ ответа ответы ответов вопрос вопроса вопросы вопросов задание задания задача задачи
    пример примера примеры примеров например список списка списке списком
    основываясь основе думаю думаешь подробно подробнее кратко
    предыдущий предыдущая предыдущее предыдущие предыдущего предыдущей предыдущем предыдущую
    рассуждай рассуждайте рассуждать вслух шагам пошагово
    """
)

#: Chinese words that segmentation keeps as content words but that name nothing here:
#: function words, and the words of Chinese prompt templates ("请根据以下内容生成一个…")
CHINESE = _words(
    """
    的 了 是 在 和 与 也 就 都 而 及 或 个 这 那 你 我 他 她 它 吗 呢 吧 请 么 把 被 为 以 之 其 所
    我们 你们 他们 她们 它们 咱们 自己 大家 别人 人们 您 您好 你好 谢谢 感谢 麻烦
    我会 我要 我想 我能 我该 你会 你能 你要 你想 他会 她会 它会 我是 你是 这是
    这个 那个 这些 那些 这样 那样 这种 那种 这里 那里 这么 那么 哪些 哪个 哪里
    什么 怎么 怎样 怎么样 如何 为什么 为何 是否 是不是 有没有 能否 可否 怎么办 多少
    可以 能够 可能 应该 应当 需要 必须 希望 想要 觉得 认为 知道 告诉 帮助 帮忙 帮我
    进行 使用 利用 通过 根据 按照 关于 对于 由于 因为 所以 但是 然后 而且 并且 或者 以及 如果 虽然
    还是 就是 只是 不是 没有 已经 一直 一定 一样 一般 非常 比较 特别 十分 更加 真的
    以下 以上 如下 下面 上面 下列 下述 上述 以下内容 下文 上文 前面 后面 其中 其他 其它 另外 之后 之前
    一个 一些 一下 一种 一段 一篇 一首 一句 一份 一位 一组 一次 一点 一样 两个 三个 几个 每个
    请问 问题 问一下 怎么回事 说出 举出 找出 指出 回答 答案 给出 给定 提供 生成 描述 解释 说明 列出 列举 写出 编写 撰写
    创建 创作 完成 输入 输出 指令 内容 例子 例如 比如 示例 以下几点 方面 方法 情况 东西 时候 地方
    现在 目前 今天 平时 最近 经常 有时 还有 包括 相关 主要 各种 不同 任何 所有 具体 简单 详细
    分别 左右 可是 不过 只有 只要 除了 为了 起来 出来 一起 这是 那是 就是说 也就是
    用户 助手 回复 提问 请求 您的 我的 你的 作者 答复 充当 才能 要求 事情
    """
)

#: markup and character entities (``<br>``, ``&nbsp;``, ``&quot;``), URL parts
MARKUP = _words(
    """
    br nbsp quot amp lt gt apos ldquo rdquo lsquo rsquo mdash ndash hellip laquo raquo
    hr div span li ul ol td tr th tbody thead tfoot href src img alt px em
    http https www com org net io html htm php aspx jpg jpeg png gif
    """
)

#: leftovers of chat templates: ``<|im_start|>``, ``[INST] <<SYS>>``, MOSS's ``<eoh>`` ...
TEMPLATE = _words(
    """
    im_start im_end im inst sys eoh eom eoa eot eos bos endoftext
    moss unk pad cls sep
    """
)

STOP_WORDS: frozenset[str] = (
    ENGLISH | ENGLISH_PROMPT | RUSSIAN | RUSSIAN_PROMPT | CHINESE | MARKUP | TEMPLATE
)
