"""Prompt data of the reading-comprehension skill (AgentInstruct, Mitra et al. 2024).

Holds the skill's demo passage, its nine content-transformation agents, its question taxonomy, its three
instruction-refinement goals and its teacher-response demonstrations. Every demonstration is written for
`DEMO_PASSAGE`, so the few-shot examples shown to a small base model all share one source text and one format.
"""

from __future__ import annotations

from agentinstruct.signatures.agents import InstructionType, RefinementGoal, TransformationAgent

DEMO_PASSAGE: str = (
    "In 2019, the public library in Millbrook, a town of 4,200 people, switched to solar power. It did so "
    "because its electricity bill had risen to $9,600 a year and the town council asked it to cut costs. "
    "First, an engineer studied the roof in March. Next, the council approved a $48,000 budget in May. "
    "Finally, workers installed 60 solar panels in August, and the system went live on September 3. In its "
    "first year, it produced about 70 percent of the building's power, and the yearly bill fell to $2,900. "
    'Head librarian Rosa Diaz calls the panels "a savings account on the roof." She argues that every public '
    "building in town should switch, because they pay for themselves in about seven years."
)
"""The source text that every demonstration of this skill is written for."""

TRANSFORMATIONS: tuple[TransformationAgent, ...] = (
    TransformationAgent(
        name="argument_passage",
        instruction=(
            "Rewrite the text as an argumentative passage that states a clear conclusion and supports it with premises "
            "taken from the text. Keep every name, number and date from the text unchanged, so that questions about "
            "them can still be answered."
        ),
        demo_output=(
            "Every public building in Millbrook should switch to solar power, and the town library shows why. "
            "In 2019, the library's electricity bill had risen to $9,600 a year, so the town council asked it to "
            "cut costs. An engineer studied the roof in March, the council approved a $48,000 budget in May, and "
            "workers installed 60 solar panels in August. The system went live on September 3. In its first "
            "year, it produced about 70 percent of the building's power, and the yearly bill fell to $2,900. "
            'Head librarian Rosa Diaz calls the panels "a savings account on the roof," and she notes that they '
            "will pay for themselves in about seven years. A town of 4,200 people cannot afford to ignore such "
            "savings. Therefore, every public building in town should follow the library's lead."
        ),
    ),
    TransformationAgent(
        name="debate_passage",
        instruction=(
            "Rewrite the text as a debate between two named speakers who take opposite sides, one turn per line in the "
            "form 'Name: line'. Keep every name, number and date from the text unchanged, so that questions about them "
            "can still be answered."
        ),
        demo_output=(
            "Moderator: Should every public building in Millbrook switch to solar power, as the town library "
            "did in 2019?\n"
            "Rosa Diaz: Yes. Our electricity bill had risen to $9,600 a year. After workers installed 60 panels "
            "in August, the yearly bill fell to $2,900.\n"
            "Tom Baker: But the project cost $48,000. That is a lot of money for a town of 4,200 people.\n"
            'Rosa Diaz: The panels are "a savings account on the roof." They will pay for themselves in about '
            "seven years.\n"
            "Tom Baker: The library had an engineer study its roof in March. Other buildings may not be as "
            "suitable.\n"
            "Rosa Diaz: Then each building should get the same study. Since September 3, our panels have "
            "produced about 70 percent of our power."
        ),
    ),
    TransformationAgent(
        name="conversation_passage",
        instruction=(
            "Rewrite the text as a natural conversation between two named people, one turn per line in the form 'Name: "
            "line'. Keep every name, number and date from the text unchanged, so that questions about them can still "
            "be answered."
        ),
        demo_output=(
            "Sam Cole: I heard the Millbrook library runs on solar power now. When did that start?\n"
            "Rosa Diaz: In 2019. Our electricity bill had risen to $9,600 a year, and the town council asked us "
            "to cut costs.\n"
            "Sam Cole: In a town of 4,200 people, that is a big bill. How did you do it?\n"
            "Rosa Diaz: First, an engineer studied the roof in March. Next, the council approved a $48,000 "
            "budget in May. Then workers installed 60 panels in August, and the system went live on September 3.\n"
            "Sam Cole: Did it work?\n"
            "Rosa Diaz: Yes. In the first year it produced about 70 percent of our power, and the yearly bill "
            'fell to $2,900. I call the panels "a savings account on the roof." Every public building in town '
            "should switch too, because the panels will pay for themselves in about seven years."
        ),
    ),
    TransformationAgent(
        name="meeting_transcript",
        instruction=(
            "Rewrite the text as the transcript of a meeting in which named participants discuss it, one turn per line "
            "in the form 'Name: line'. Keep every name, number and date from the text unchanged, so that questions "
            "about them can still be answered."
        ),
        demo_output=(
            "Mayor Park: Item one is the library's report on the solar panels it installed in 2019.\n"
            "Rosa Diaz: Our electricity bill had risen to $9,600 a year, so the council asked us to cut costs. "
            "An engineer studied the roof in March, and the council approved $48,000 in May.\n"
            "Ann Lee: When did the panels go in?\n"
            "Rosa Diaz: Workers installed 60 panels in August, and the system went live on September 3.\n"
            "Ann Lee: And the results?\n"
            "Rosa Diaz: In the first year, they produced about 70 percent of our power, and the yearly bill fell "
            'to $2,900. They are "a savings account on the roof." Every public building in our town of 4,200 '
            "people should switch, since the panels pay for themselves in about seven years.\n"
            "Mayor Park: Thank you. We will discuss that next."
        ),
    ),
    TransformationAgent(
        name="poem",
        instruction=(
            "Rewrite the text as a poem in short lines. Keep the key names, numbers and dates as written, so that "
            "questions about them can still be answered."
        ),
        demo_output=(
            "In Millbrook, a town of 4,200,\n"
            "the library's bill kept climbing:\n"
            "$9,600 a year, too much to pay,\n"
            "so the council asked it to save.\n"
            "In March, an engineer checked the roof.\n"
            "In May, the council gave $48,000.\n"
            "In August, 60 panels rose in rows,\n"
            "and on September 3, 2019, the sunlight flowed.\n"
            "In one year the sun gave 70 percent of the power,\n"
            "and the bill fell to $2,900.\n"
            '"A savings account on the roof,"\n'
            "says head librarian Rosa Diaz.\n"
            '"Let every public building switch,\n'
            "for in about seven years\n"
            'the panels pay for themselves."'
        ),
    ),
    TransformationAgent(
        name="satirical_passage",
        instruction=(
            "Rewrite the text as a short satirical passage that uses irony and gentle mockery while every fact stays "
            "accurate. Keep every name, number and date from the text unchanged, so that questions about them can "
            "still be answered."
        ),
        demo_output=(
            "Shocking news from Millbrook, population 4,200: in 2019, the public library was caught saving "
            "money. Its electricity bill had ballooned to $9,600 a year, and the town council, in a rare burst of "
            "common sense, asked it to cut costs. In March, an engineer bravely climbed onto the roof. In May, "
            "the council approved $48,000 without forming a single subcommittee. In August, workers installed "
            "60 solar panels, and on September 3 the sun simply went to work. In the "
            "first year, the panels produced about 70 percent of the power, and the yearly bill shrank to a "
            'humiliating $2,900. Head librarian Rosa Diaz calls them "a savings account on the roof" and argues '
            "that every public building should switch, on the radical grounds that the panels pay for "
            "themselves in about seven years."
        ),
    ),
    TransformationAgent(
        name="instructional_passage",
        instruction=(
            "Rewrite the text as an instructional passage with a title and numbered steps, using the events of the "
            "text as the worked example. Keep every name, number and date from the text unchanged, so that questions "
            "about them can still be answered."
        ),
        demo_output=(
            "How to Switch a Building to Solar Power\n"
            "In 2019, the library in Millbrook, a town of 4,200 people, used these steps after its electricity "
            "bill had risen to $9,600 a year and the town council asked it to cut costs.\n"
            "Step 1: Have an engineer study the roof. Millbrook did this in March.\n"
            "Step 2: Get a budget approved. The council approved $48,000 in May.\n"
            "Step 3: Install the panels. Workers put up 60 solar panels in August.\n"
            "Step 4: Turn it on. The system went live on September 3.\n"
            "Step 5: Track the results. In the first year, the panels made about 70 percent of the power, "
            "and the yearly bill fell to $2,900.\n"
            'Tip: Head librarian Rosa Diaz calls the panels "a savings account on the roof" and says every '
            "public building should switch, because they pay for themselves in about seven years."
        ),
    ),
    TransformationAgent(
        name="long_text_expansion",
        instruction=(
            "Rewrite the text as a longer passage that adds context and explanation but no facts that contradict it. "
            "Keep every name, number and date from the text unchanged, so that questions about them can still be "
            "answered."
        ),
        demo_output=(
            "Millbrook is a small town of 4,200 people, and its public library is one of its busiest buildings. "
            "By 2019, the library's electricity bill had risen to $9,600 a year. Worried about the budget, the "
            "town council asked the library to cut costs, so it turned to solar power. First, in March, an "
            "engineer studied the roof. Next, in May, the council approved a budget of $48,000. Finally, in "
            "August, workers installed 60 solar panels, and the system went live on September 3. In its first "
            "year, the system produced about 70 percent of the building's power, and the yearly bill fell to "
            "$2,900. Head librarian Rosa Diaz calls the panels "
            '"a savings account on the roof." She argues that every public building in town should switch too, '
            "because the panels will pay for themselves in about seven years."
        ),
    ),
    TransformationAgent(
        name="identity",
        instruction="Return the text exactly as it is, without any changes.",
        demo_output=DEMO_PASSAGE,
    ),
)
"""The skill's content-transformation agents, each with its rewrite of `DEMO_PASSAGE`."""

QUESTION_TYPES: tuple[InstructionType, ...] = (
    InstructionType(
        name="literal_short_answer",
        instruction=(
            "Write a question whose answer is one fact stated directly in the passage, such as a name, number, date or "
            "place."
        ),
        demo_instructions=(
            "How many solar panels did workers install on the Millbrook library?\n"
            "In which month did the Millbrook town council approve the budget for the library's solar panels?"
        ),
    ),
    InstructionType(
        name="literal_list",
        instruction=(
            "Write a question that asks for several items stated in the passage, and say how many items the answer "
            "should contain."
        ),
        demo_instructions=(
            "List the three steps, in order, that the Millbrook library took to switch to solar power.\n"
            "Name the two yearly electricity bills the passage gives for the Millbrook library, before and after "
            "the switch to solar power."
        ),
    ),
    InstructionType(
        name="numerical_discrete_reasoning",
        instruction=(
            "Write a question that requires arithmetic on numbers from the passage, such as a difference, sum or "
            "count; the answer must follow exactly from those numbers."
        ),
        demo_instructions=(
            "By how many dollars did the Millbrook library's yearly electricity bill fall after the switch to "
            "solar power?\n"
            "How many months passed between the engineer's study of the Millbrook library's roof and the "
            "installation of its solar panels?"
        ),
    ),
    InstructionType(
        name="critical_true_false",
        instruction=(
            "Write a statement about the passage and ask whether it is true or false; test careful reading, for "
            "example by changing one detail or combining two facts."
        ),
        demo_instructions=(
            "True or false: the Millbrook library's solar panels produced all of the building's power in their "
            "first year.\n"
            "True or false: the Millbrook library's solar power system went live after workers installed the panels "
            "in August."
        ),
    ),
    InstructionType(
        name="evaluative_essay",
        instruction=(
            "Write an open-ended prompt that asks the reader to judge an idea in the passage in a short essay, using "
            "evidence from the passage."
        ),
        demo_instructions=(
            "In a short essay, evaluate Rosa Diaz's argument that every public building in Millbrook should "
            "switch to solar power, using evidence from the passage.\n"
            "Write a short essay on whether the Millbrook library's solar project was a good use of $48,000, "
            "supporting your view with numbers from the passage."
        ),
    ),
    InstructionType(
        name="vocabulary_fill_in_blank",
        instruction=(
            "Write a sentence based on the passage with one key word replaced by ____, and ask the reader to fill in "
            "the blank."
        ),
        demo_instructions=(
            "Fill in the blank: The Millbrook library's electricity bill had risen to $9,600 a year, and the "
            "town council asked it to cut ____.\n"
            'Fill in the blank: Rosa Diaz calls the library\'s solar panels "a savings ____ on the roof."'
        ),
    ),
    InstructionType(
        name="relationship_matching",
        instruction=(
            "Write a question that asks the reader to match items from the passage, such as dates or numbers, to what "
            "they describe; list both sets inline."
        ),
        demo_instructions=(
            "Match each month to what happened at the Millbrook library: (1) March (2) May (3) August; (A) the "
            "council approved the budget (B) workers installed the panels (C) an engineer studied the roof\n"
            "Match each number from the passage to what it describes: (1) 4,200 (2) 60 (3) 70 percent; (A) the "
            "share of power the panels produced in their first year (B) the population of Millbrook (C) the "
            "number of solar panels installed"
        ),
    ),
    InstructionType(
        name="sequencing_events",
        instruction=(
            "Write a question that asks the reader to put events from the passage in order, or to say which event came "
            "before or after another; list the events inline."
        ),
        demo_instructions=(
            "Put these events at the Millbrook library in the order they happened: (A) the system went live (B) "
            "the council approved the budget (C) an engineer studied the roof (D) workers installed the panels\n"
            "What happened at the Millbrook library right after the town council approved the $48,000 budget?"
        ),
        transformations=(
            "instructional_passage",
            "identity",
            "long_text_expansion",
            "conversation_passage",
            "meeting_transcript",
            "argument_passage",
            "satirical_passage",
            "poem",
        ),
    ),
    InstructionType(
        name="cause_and_effect",
        instruction=(
            "Write a question that asks why something in the passage happened or what result it had; the answer must "
            "be a cause or effect the passage states."
        ),
        demo_instructions=(
            "Why did the Millbrook library switch to solar power?\n"
            "What happened to the Millbrook library's yearly electricity bill as a result of its solar panels?"
        ),
    ),
    InstructionType(
        name="main_idea",
        instruction=(
            "Write a question that asks for the central point of the whole passage, not a single detail; it may be "
            "open or multiple choice with the options inline."
        ),
        demo_instructions=(
            "What is the main idea of the passage about the Millbrook library?\n"
            "Which statement best expresses the main idea of the passage? (A) Millbrook has 4,200 people. (B) "
            "The Millbrook library cut its costs by switching to solar power. (C) Engineers should study every "
            "roof. (D) Solar panels cost $48,000."
        ),
    ),
    InstructionType(
        name="inference",
        instruction=(
            "Write a question whose answer is not stated directly in the passage but follows logically from its facts."
        ),
        demo_instructions=(
            "About what share of the Millbrook library's power did not come from its solar panels in their first "
            "year?\n"
            "What can you infer about how the Millbrook town council viewed the library's $9,600 yearly "
            "electricity bill?"
        ),
    ),
    InstructionType(
        name="author_purpose",
        instruction="Write a question about why the author wrote the passage or included a particular detail.",
        demo_instructions=(
            "Why does the author mention that the Millbrook library's yearly bill fell to $2,900?\n"
            "What is the author's main purpose in the passage? (A) to sell solar panels (B) to explain how and "
            "why a library switched to solar power (C) to criticize the town council (D) to describe the history "
            "of Millbrook"
        ),
    ),
    InstructionType(
        name="tone_and_attitude",
        instruction=(
            "Write a question about the attitude of the author or of a person in the passage toward its subject, "
            "asking for the words that show it."
        ),
        demo_instructions=(
            "What is Rosa Diaz's attitude toward the Millbrook library's solar panels, and which words show it?\n"
            "Which word best describes the tone of the passage about the Millbrook library? (A) angry (B) "
            "informative (C) sad (D) sarcastic"
        ),
        transformations=(
            "poem",
            "satirical_passage",
            "argument_passage",
            "debate_passage",
            "conversation_passage",
            "meeting_transcript",
            "long_text_expansion",
            "identity",
        ),
    ),
    InstructionType(
        name="compare_and_contrast",
        instruction=(
            "Write a question that asks the reader to compare two things in the passage, such as before and after, or "
            "two numbers, people or steps."
        ),
        demo_instructions=(
            "How did the Millbrook library's yearly electricity bill before the switch to solar power compare "
            "with its bill in the system's first year?\n"
            "Which is larger, the $48,000 cost of the Millbrook library's solar project or its yearly savings on "
            "electricity, and by about how many times?"
        ),
    ),
    InstructionType(
        name="summarization",
        instruction=(
            "Write a request to summarize the passage, or one part of it, in a stated number of sentences or words."
        ),
        demo_instructions=(
            "Summarize the passage about the Millbrook library in two sentences.\n"
            "In one sentence of no more than 25 words, summarize how the Millbrook library installed its solar "
            "panels."
        ),
    ),
    InstructionType(
        name="counterfactual",
        instruction=(
            "Write a what-if question that changes one fact in the passage and asks what would follow, answerable by "
            "reasoning from the passage's other facts."
        ),
        demo_instructions=(
            "If the Millbrook library's yearly bill had fallen to $6,100 instead of $2,900, how many dollars a "
            "year would the library have saved?\n"
            "If the engineer had found in March that the Millbrook library's roof could not hold solar panels, "
            "which later steps in the passage might not have happened?"
        ),
    ),
    InstructionType(
        name="lsat_strengthen",
        instruction=(
            "Write a question that asks which option, if true, most strengthens an argument in the passage; give four "
            "options inline, exactly one of which supports the argument."
        ),
        demo_instructions=(
            "Which of the following, if true, most strengthens Rosa Diaz's argument that every public building "
            "in Millbrook should switch to solar power? (A) Most public buildings in Millbrook have roofs and "
            "power bills like the library's. (B) The library has 60 solar panels. (C) Solar panels come in many "
            "colors. (D) Millbrook's population grew last year.\n"
            "Which of the following, if true, most supports the claim that the Millbrook library's panels will "
            "pay for themselves in about seven years? (A) The panels need almost no repairs in their first ten "
            "years. (B) The engineer studied the roof in March. (C) The library is open on weekends. (D) Some "
            "towns have larger libraries."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="lsat_weaken",
        instruction=(
            "Write a question that asks which option, if true, most weakens an argument in the passage; give four "
            "options inline, exactly one of which undermines the argument."
        ),
        demo_instructions=(
            "Which of the following, if true, most weakens Rosa Diaz's argument that every public building in "
            "Millbrook should switch to solar power? (A) The library's yearly bill fell to $2,900. (B) Most "
            "other public buildings in Millbrook have shaded roofs that get little sun. (C) The system went live "
            "on September 3. (D) Millbrook has 4,200 people.\n"
            "Which of the following, if true, most casts doubt on the claim that the Millbrook library's panels "
            "will pay for themselves in about seven years? (A) The panels must be replaced after five years. "
            "(B) The council approved the budget in May. (C) The library has many visitors. (D) The engineer "
            "liked the roof."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="lsat_necessary_assumption",
        instruction=(
            "Write a question that asks which unstated assumption an argument in the passage depends on; give four "
            "options inline, exactly one of which the argument needs."
        ),
        demo_instructions=(
            "Rosa Diaz's argument that every public building in Millbrook should switch to solar power assumes "
            "which of the following? (A) Other public buildings would save money from solar panels as the "
            "library did. (B) The library's roof was studied in March. (C) Solar power is the cheapest power in "
            "every town. (D) The town council approves every budget.\n"
            "The claim that the Millbrook library's panels will pay for themselves in about seven years depends "
            "on which assumption? (A) The library's yearly savings will stay about the same in later years. (B) "
            "Millbrook will grow larger. (C) The panels were installed in August. (D) The library will never "
            "need more power."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="lsat_flaw",
        instruction=(
            "Write a question that asks which option describes a flaw in the reasoning of an argument in the passage; "
            "give four options inline, exactly one of which names a real flaw."
        ),
        demo_instructions=(
            "Which of the following describes a flaw in Rosa Diaz's argument that every public building in "
            "Millbrook should switch to solar power? (A) It draws a conclusion about all public buildings from "
            "the results of just one. (B) It relies on numbers. (C) It describes events in order. (D) It "
            "mentions the town council.\n"
            "What is questionable about using the Millbrook library's first year alone to claim that its panels "
            "will pay for themselves in about seven years? (A) One year of results may not predict later years. "
            "(B) The library used an engineer. (C) The bill is given in dollars. (D) The system went live in "
            "September."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="lsat_must_be_true",
        instruction=(
            "Write a question that asks which statement must be true if the passage's statements are true; give four "
            "options inline, exactly one of which strictly follows."
        ),
        demo_instructions=(
            "If the statements in the passage are true, which of the following must also be true? (A) The "
            "Millbrook library's yearly bill fell by $6,700. (B) Every public building in Millbrook will install "
            "solar panels. (C) The panels produced all of the library's power. (D) The library will save money "
            "forever.\n"
            "Based on the passage, which of the following must be true? (A) The engineer studied the Millbrook "
            "library's roof before workers installed the panels. (B) The council rejected the first budget. (C) "
            "The panels were installed in March. (D) Millbrook has more than 5,000 people."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="lsat_identify_principle",
        instruction=(
            "Write a question that asks which general principle best matches or justifies the reasoning in the "
            "passage; give four options inline, exactly one of which fits."
        ),
        demo_instructions=(
            "Which principle best supports Rosa Diaz's argument that every public building in Millbrook should "
            "switch to solar power? (A) A public building should make a change that pays for itself within a "
            "reasonable time. (B) A town should never spend more than $10,000 on a project. (C) Only libraries "
            "should use solar power. (D) Engineers should approve every budget.\n"
            "Having an engineer study the Millbrook library's roof before the budget was approved best "
            "illustrates which principle? (A) Check that a plan can work before paying for it. (B) Spend money "
            "first and check the results later. (C) Let one person make every decision. (D) Avoid new technology."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="lsat_method_of_reasoning",
        instruction=(
            "Write a question that asks how an argument in the passage proceeds, such as by example, generalization or "
            "comparison; give four options inline, exactly one of which is accurate."
        ),
        demo_instructions=(
            "Rosa Diaz supports her claim that every public building in Millbrook should switch to solar power "
            "mainly by (A) pointing to how quickly the library's panels will pay for themselves (B) citing a "
            "survey of all public buildings (C) attacking people who disagree (D) comparing Millbrook with "
            "another town\n"
            "How does Rosa Diaz's argument move from evidence to conclusion? (A) It generalizes from one "
            "building's results to every public building in town. (B) It draws on the experience of many towns. "
            "(C) It rejects the council's plan. (D) It relies on a poll of residents."
        ),
        transformations=("argument_passage", "debate_passage", "identity", "long_text_expansion"),
    ),
    InstructionType(
        name="speaker_viewpoint",
        instruction=(
            "Write a question that asks what a named speaker believes or argues, or how two speakers' views differ, "
            "using what they say as evidence."
        ),
        demo_instructions=(
            "What does Rosa Diaz believe every public building in Millbrook should do, and what reason does she "
            "give?\n"
            "How would Rosa Diaz likely respond to a plan to put solar panels on Millbrook's town hall? Use her "
            "words to explain."
        ),
        transformations=("debate_passage", "conversation_passage", "meeting_transcript"),
    ),
    InstructionType(
        name="multiple_choice_detail",
        instruction=(
            "Write a multiple-choice question about one specific detail in the passage, with four options inline and "
            "exactly one correct."
        ),
        demo_instructions=(
            "On what date did the Millbrook library's solar power system go live? (A) March 3 (B) May 3 (C) August 3 "
            "(D) September 3\n"
            "How much money did the Millbrook town council approve for the library's solar project? (A) $2,900 "
            "(B) $9,600 (C) $48,000 (D) $60,000"
        ),
    ),
    InstructionType(
        name="figurative_language",
        instruction=(
            "Write a question about what a figurative phrase in the passage, such as a metaphor, means or suggests."
        ),
        demo_instructions=(
            "What does Rosa Diaz mean when she calls the Millbrook library's solar panels \"a savings account "
            'on the roof"?\n'
            'What does the phrase "a savings account on the roof" suggest about the Millbrook library\'s solar '
            "panels? (A) They pay back money over time by cutting bills. (B) They are kept in a bank. (C) They "
            "are hard to reach. (D) They cost nothing to install."
        ),
        transformations=(
            "poem",
            "satirical_passage",
            "argument_passage",
            "debate_passage",
            "conversation_passage",
            "long_text_expansion",
            "identity",
        ),
    ),
)
"""The skill's question taxonomy, each type with two demo questions on `DEMO_PASSAGE`."""

REFINEMENT_GOALS: tuple[RefinementGoal, ...] = (
    RefinementGoal(
        name="unanswerable",
        instruction=(
            "Change the question so that the passage no longer contains enough information to answer it, while it "
            "still looks answerable from the passage."
        ),
        edits="instruction",
        demo_instruction="How many solar panels did workers install on the Millbrook library?",
        demo_suggestions=(
            "- Ask how many workers installed the panels, which the passage never says.\n"
            "- Ask what brand of solar panels was used, which the passage never names.\n"
            "- Ask how many days the installation took, which the passage does not give."
        ),
        demo_revision="How many workers did it take to install the solar panels on the Millbrook library?",
    ),
    RefinementGoal(
        name="answer_flip",
        instruction=(
            "Make the smallest change to the passage that gives the question a different correct answer, and keep "
            "every other fact the same."
        ),
        edits="passage",
        demo_instruction=(
            "By how many dollars did the Millbrook library's yearly electricity bill fall after the switch to "
            "solar power?"
        ),
        demo_suggestions=(
            "- Change the new yearly bill from $2,900 to $3,100, so the bill falls by $6,500 instead of $6,700.\n"
            "- Change only that one number and keep every other fact the same."
        ),
        demo_revision=(
            "In 2019, the public library in Millbrook, a town of 4,200 people, switched to solar power. It did "
            "so because its electricity bill had risen to $9,600 a year and the town council asked it to cut "
            "costs. First, an engineer studied the roof in March. Next, the council approved a $48,000 budget in "
            "May. Finally, workers installed 60 solar panels in August, and the system went live on September 3. "
            "In its first year, it produced about 70 percent of the building's power, and the yearly bill fell "
            'to $3,100. Head librarian Rosa Diaz calls the panels "a savings account on the roof." She argues '
            "that every public building in town should switch, because they pay for themselves in about seven "
            "years."
        ),
    ),
    RefinementGoal(
        name="harder",
        instruction=(
            "Make the question harder: require combining two facts from the passage, or add plausible distractor "
            "options, while it stays answerable from the passage."
        ),
        edits="instruction",
        demo_instruction="In which month did workers install the solar panels on the Millbrook library?",
        demo_suggestions=(
            "- Ask how many months passed between the budget approval and the installation, which combines two "
            "dates.\n"
            "- Make it multiple choice, with the gap from March to August as a distractor."
        ),
        demo_revision=(
            "How many months passed between the town council's approval of the budget and the installation of "
            "the solar panels on the Millbrook library? (A) 2 (B) 3 (C) 5 (D) 6"
        ),
    ),
)
"""The instruction-refinement goals, each with a Suggester and Editor demonstration on `DEMO_PASSAGE`."""

RESPONSE_DEMOS: tuple[tuple[str, str], ...] = (
    (
        "By how many dollars did the Millbrook library's yearly electricity bill fall after the switch to solar power?",
        "It fell by $6,700. The passage says the bill had risen to $9,600 a year and fell to $2,900 in the "
        "system's first year, and $9,600 - $2,900 = $6,700.",
    ),
    (
        "On what date did the Millbrook library's solar power system go live? (A) March 3 (B) May 3 (C) August 3 "
        "(D) September 3",
        "(D) September 3. The passage says workers installed the panels in August and the system went live on "
        "September 3.",
    ),
    (
        "How many workers did it take to install the solar panels on the Millbrook library?",
        "The passage does not say. It states that workers installed 60 solar panels in August, but it never "
        "gives the number of workers.",
    ),
)
"""Ideal teacher answers to questions on `DEMO_PASSAGE`: answer first, then the passage evidence."""
